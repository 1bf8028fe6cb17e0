using DeepPerception.Checkpoints;
using DeepPerception.ML.Qwen2VL;
using DeepPerception.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Tests;

/// <summary>Batching, sampling, checkpoint I/O, LoRA and the device worker, on the golden tiny model.</summary>
public sealed class EngineTests : IDisposable
{
    private readonly string _tmp = Directory.CreateTempSubdirectory("dp-engine-").FullName;

    public void Dispose() => Directory.Delete(_tmp, recursive: true);

    private static PromptInput Case(GoldenCase gc) => gc.Prompt();

    [Fact]
    public void Left_padded_batch_generates_what_each_prompt_generates_alone()
    {
        using var model = Golden.LoadModel();
        using var scope = NewDisposeScope();
        using var text = new GoldenCase("text_only");
        using var image = new GoldenCase("image");
        // image prompt first, then the shorter text prompt (left-padded by 3) and the image prompt again.
        var result = Generation.Generate(model, new GenerationRequest
        {
            Prompts = [Case(image), Case(text), Case(image)],
            Options = new GenerationOptions { MaxNewTokens = 8 },
        });
        Assert.Equal(image.Longs("generated_ids"), result.Sequences[0].Tokens.Select(t => (long)t));
        Assert.Equal(text.Longs("generated_ids"), result.Sequences[1].Tokens.Select(t => (long)t));
        Assert.Equal(image.Longs("generated_ids"), result.Sequences[2].Tokens.Select(t => (long)t));
        Assert.Equal(15, result.PaddedPromptLength);
    }

    [Fact]
    public void Generation_stops_on_a_stop_token_and_keeps_it()
    {
        using var model = Golden.LoadModel();
        using var scope = NewDisposeScope();
        using var text = new GoldenCase("text_only");
        var expected = text.Longs("generated_ids");
        var result = Generation.Generate(model, new GenerationRequest
        {
            Prompts = [Case(text)],
            Options = new GenerationOptions { MaxNewTokens = 8, StopTokenIds = [(int)expected[2]] },
        });
        Assert.Equal(expected.Take(3), result.Sequences[0].Tokens.Select(t => (long)t));
        Assert.Equal(FinishReason.Stop, result.Sequences[0].Reason);
    }

    [Fact]
    public void Sampling_is_reproducible_with_a_seed_and_top_k_1_is_greedy()
    {
        using var model = Golden.LoadModel();
        using var scope = NewDisposeScope();
        using var text = new GoldenCase("text_only");
        GenerationResult Run(GenerationOptions o) => Generation.Generate(model, new GenerationRequest { Prompts = [Case(text)], Options = o });
        var a = Run(new GenerationOptions { MaxNewTokens = 12, Temperature = 1.0, Seed = 7 });
        var b = Run(new GenerationOptions { MaxNewTokens = 12, Temperature = 1.0, Seed = 7 });
        var c = Run(new GenerationOptions { MaxNewTokens = 12, Temperature = 1.0, Seed = 8 });
        Assert.Equal(a.Sequences[0].Tokens, b.Sequences[0].Tokens);
        Assert.NotEqual(a.Sequences[0].Tokens, c.Sequences[0].Tokens);
        var topK1 = Run(new GenerationOptions { MaxNewTokens = 8, Temperature = 0.7, TopK = 1, Seed = 3 });
        var tinyP = Run(new GenerationOptions { MaxNewTokens = 8, Temperature = 1.3, TopP = 1e-6, Seed = 3 });
        Assert.Equal(text.Longs("generated_ids"), topK1.Sequences[0].Tokens.Select(t => (long)t));
        Assert.Equal(text.Longs("generated_ids"), tinyP.Sequences[0].Tokens.Select(t => (long)t));
    }

    [Theory]
    [InlineData(SafetensorsDType.F32, 0.0)]
    [InlineData(SafetensorsDType.BF16, 0.2)]
    [InlineData(SafetensorsDType.F16, 0.02)]
    public void Saved_checkpoint_reloads_with_the_same_logits(SafetensorsDType dtype, double tolerance)
    {
        using var model = Golden.LoadModel();
        using var scope = NewDisposeScope();
        using var image = new GoldenCase("image");
        var dir = Path.Combine(_tmp, dtype.ToString());
        Qwen2VLCheckpoint.Save(model, dir, dtype, maxShardBytes: dtype == SafetensorsDType.F32 ? 200_000 : long.MaxValue);
        if (dtype == SafetensorsDType.F32)
        {
            Assert.True(File.Exists(Path.Combine(dir, Safetensors.IndexFileName)), "a small shard limit must give a sharded checkpoint");
            Assert.True(Safetensors.CheckpointFiles(dir).Count > 1);
        }

        using var reloaded = Qwen2VLCheckpoint.Load(dir);
        using var reader = SafetensorsReader.Open(Safetensors.CheckpointFiles(dir)[0]);
        Assert.Equal("pt", reader.Metadata["format"]);
        var p = Case(image);
        var input = new ModelInput { InputIds = torch.tensor(p.Ids, [1, p.Ids.Length]), PixelValues = p.PixelValues, ImageGrids = p.Grids };
        using var _ = no_grad();
        var diff = GoldenCase.MaxAbs(reloaded.Forward(input).Logits, model.Forward(input).Logits);
        Assert.True(diff <= tolerance, $"{dtype}: {diff}");
    }

    [Fact]
    public void Strict_loading_names_missing_extra_and_misshaped_tensors()
    {
        var names = File.ReadAllLines(Path.Combine(Golden.ModelDir, "param_names.txt")).Where(l => l.Length > 0).ToList();
        using var reader = SafetensorsReader.Open(Path.Combine(Golden.ModelDir, "model.safetensors"));
        List<SafetensorsTensor> All() => names.Select(n => new SafetensorsTensor(n, reader.Entries[n].DType, reader.Entries[n].Shape, reader.ReadBytes(n))).ToList();

        string Write(string name, List<SafetensorsTensor> tensors)
        {
            var dir = Path.Combine(_tmp, name);
            Directory.CreateDirectory(dir);
            File.Copy(Path.Combine(Golden.ModelDir, "config.json"), Path.Combine(dir, "config.json"));
            Safetensors.Write(Path.Combine(dir, "model.safetensors"), tensors);
            return dir;
        }

        var missing = All().Where(t => t.Name != "model.layers.1.mlp.up_proj.weight").ToList();
        var e1 = Assert.Throws<CheckpointFormatException>(() => Qwen2VLCheckpoint.Load(Write("missing", missing)));
        Assert.Contains("missing tensor 'model.layers.1.mlp.up_proj.weight'", e1.Message);

        var extra = All();
        extra.Add(new SafetensorsTensor("model.layers.9.extra.weight", SafetensorsDType.F32, [2], new byte[8]));
        var e2 = Assert.Throws<CheckpointFormatException>(() => Qwen2VLCheckpoint.Load(Write("extra", extra)));
        Assert.Contains("unexpected tensor 'model.layers.9.extra.weight'", e2.Message);

        var misshaped = All().Select(t => t.Name == "model.norm.weight" ? t with { Shape = [8, 8] } : t).ToList();
        var e3 = Assert.Throws<CheckpointFormatException>(() => Qwen2VLCheckpoint.Load(Write("shape", misshaped)));
        Assert.Contains("'model.norm.weight' has shape [8,8]", e3.Message);

        var truncatedDir = Write("truncated", All());
        var file = Path.Combine(truncatedDir, "model.safetensors");
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var e4 = Assert.Throws<CheckpointFormatException>(() => Qwen2VLCheckpoint.Load(truncatedDir));
        Assert.Contains("truncated", e4.Message);

        var e5 = Assert.Throws<CheckpointFormatException>(() => Qwen2VLCheckpoint.Load(Path.Combine(_tmp, "nowhere")));
        Assert.Contains("config", e5.Message);
    }

    [Fact]
    public void Lora_adapters_train_merge_save_and_load_in_peft_layout()
    {
        using var model = Golden.LoadModel();
        using var scope = NewDisposeScope();
        using var image = new GoldenCase("image");
        var p = Case(image);
        var input = new ModelInput { InputIds = torch.tensor(p.Ids, [1, p.Ids.Length]), PixelValues = p.PixelValues, ImageGrids = p.Grids };
        Tensor Logits()
        {
            using var _ = no_grad();
            model.eval();
            return model.Forward(input).Logits.clone();
        }

        var before = Logits();
        var baseWeight = model.TextModel.EmbedTokens.clone();
        var options = new LoraOptions { Rank = 4, Alpha = 8, Dropout = 0 };
        var adapted = LoraAdapters.Attach(model, options);
        Assert.Contains("model.layers.0.self_attn.q_proj", adapted);
        Assert.Contains("visual.blocks.1.attn.qkv", adapted);
        Assert.True(GoldenCase.MaxAbs(Logits(), before) == 0, "a fresh adapter (B = 0) must not change the output");

        var trainable = LoraAdapters.FreezeBaseAndGetTrainable(model);
        Assert.All(model.named_parameters().Where(x => !x.name.Contains("lora_")), x => Assert.False(x.parameter.requires_grad));
        var opt = torch.optim.AdamW(trainable, lr: 0.05);
        model.train();
        var target = torch.tensor(new long[] { 5 });
        for (var step = 0; step < 5; step++)
        {
            using var stepScope = NewDisposeScope();
            opt.zero_grad();
            var logits = model.Forward(input).Logits[0, -1].unsqueeze(0);
            var loss = torch.nn.functional.cross_entropy(logits, target);
            loss.backward();
            opt.step();
        }

        var adaptedLogits = Logits();
        Assert.True(GoldenCase.MaxAbs(adaptedLogits, before) > 1e-3, "training the adapter must change the output");
        Assert.True(GoldenCase.MaxAbs(model.TextModel.EmbedTokens, baseWeight) == 0, "the base stays frozen");

        var adapterDir = Path.Combine(_tmp, "adapter");
        LoraAdapters.Save(model, adapterDir, options, "qwen2vl-tiny");
        using (var r = SafetensorsReader.Open(Path.Combine(adapterDir, LoraAdapters.WeightsFile)))
        {
            Assert.Contains("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", r.Entries.Keys);
            Assert.Contains("base_model.model.visual.blocks.0.mlp.fc1.lora_B.weight", r.Entries.Keys);
            Assert.Equal([4L, 64L], r.Entries["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"].Shape);
        }

        using (var fresh = Golden.LoadModel())
        {
            LoraAdapters.Load(fresh, adapterDir);
            fresh.eval();
            using var _ = no_grad();
            Assert.True(GoldenCase.MaxAbs(fresh.Forward(input).Logits, adaptedLogits) < 1e-5, "reloaded adapter gives the same output");
        }

        LoraAdapters.Merge(model);
        Assert.DoesNotContain(model.named_parameters(), x => x.name.Contains("lora_"));
        Assert.True(GoldenCase.MaxAbs(Logits(), adaptedLogits) < 1e-4, "merged weights give the adapted output");
    }

    [Fact]
    public void Adapter_that_does_not_fit_is_rejected_and_detached()
    {
        using var model = Golden.LoadModel();
        var dir = Path.Combine(_tmp, "bad-adapter");
        LoraAdapters.Attach(model, new LoraOptions { Rank = 2, TargetModules = ["q_proj"] });
        LoraAdapters.Save(model, dir, new LoraOptions { Rank = 2, TargetModules = ["q_proj"] }, "tiny");
        LoraAdapters.Detach(model);
        File.WriteAllText(Path.Combine(dir, LoraAdapters.ConfigFile), File.ReadAllText(Path.Combine(dir, LoraAdapters.ConfigFile)).Replace("\"r\": 2", "\"r\": 3"));
        var e = Assert.Throws<CheckpointFormatException>(() => LoraAdapters.Load(model, dir));
        Assert.Contains("has shape", e.Message);
        Assert.DoesNotContain(model.named_parameters(), x => x.name.Contains("lora_"));
    }

    [Fact]
    public async Task Device_worker_runs_all_work_on_one_thread_and_frees_every_tensor()
    {
        using var worker = new DeviceWorker(CPU, threads: 1);
        var ids = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => worker.RunAsync(() => Environment.CurrentManagedThreadId)));
        Assert.All(ids, id => Assert.Equal(worker.ThreadId, id));

        var baseline = await worker.RunAsync(() => DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        var tokens = await worker.RunAsync(() =>
        {
            using var model = Golden.LoadModel();
            using var text = new GoldenCase("text_only");
            var r = Generation.Generate(model, new GenerationRequest { Prompts = [Case(text)], Options = new GenerationOptions { MaxNewTokens = 4 } });
            return r.Sequences[0].Tokens;
        });
        Assert.Equal(4, tokens.Length);
        var after = await worker.RunAsync(() => DisposeScopeManager.Statistics.ThreadTotalLiveCount);
        Assert.Equal(baseline, after);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => worker.RunAsync<int>(() => throw new InvalidOperationException("boom")));
        Assert.Equal("boom", error.Message);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => worker.RunAsync(() => 1, cts.Token));

        // Usage counters (the platform's device metrics) include every item before its caller sees the outcome.
        Assert.Equal(9, worker.CompletedItems);
        Assert.True(worker.BusyTime > TimeSpan.Zero);
        Assert.False(worker.IsBusy);
    }
}
