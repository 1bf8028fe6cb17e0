using DeepPerception.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Qwen2VL;

/// <summary>
/// Hugging Face checkpoint folders (config.json + model.safetensors or sharded safetensors with an index), read strictly:
/// a missing, unexpected or mis-shaped tensor is a <see cref="CheckpointFormatException"/> that names it. F32, BF16 and
/// F16 on disk are converted to the model's dtype.
/// </summary>
public static class Qwen2VLCheckpoint
{
    /// <summary>Loads config and weights from a folder onto <paramref name="device"/> (CPU by default).</summary>
    public static Qwen2VLForConditionalGeneration Load(string directory, Device? device = null)
    {
        var config = Qwen2VLConfig.FromFile(Path.Combine(directory, "config.json"));
        var model = new Qwen2VLForConditionalGeneration(config);
        LoadWeights(model, directory);
        if (device is not null && device.type != DeviceType.CPU)
        {
            model.to(device);
        }

        model.eval();
        return model;
    }

    /// <summary>Loads the weights of a checkpoint folder into <paramref name="model"/>, strictly.</summary>
    public static void LoadWeights(Qwen2VLForConditionalGeneration model, string directory)
    {
        var files = Safetensors.CheckpointFiles(directory);
        var targets = TargetParameters(model);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<string>();
        var readers = files.Select(SafetensorsReader.Open).ToList();
        try
        {
            foreach (var reader in readers)
            {
                foreach (var entry in reader.Entries.Values)
                {
                    if (!targets.TryGetValue(entry.Name, out var target))
                    {
                        if (!(model.Config.TieWordEmbeddings && entry.Name == "lm_head.weight"))
                        {
                            problems.Add($"unexpected tensor '{entry.Name}' in {Path.GetFileName(reader.Path)}");
                        }

                        continue;
                    }

                    if (!entry.Shape.SequenceEqual(target.shape))
                    {
                        problems.Add($"tensor '{entry.Name}' has shape [{string.Join(',', entry.Shape)}] in {Path.GetFileName(reader.Path)} but the model expects [{string.Join(',', target.shape)}]");
                        continue;
                    }

                    seen.Add(entry.Name);
                }
            }

            problems.AddRange(targets.Keys.Where(k => !seen.Contains(k)).Select(k => $"missing tensor '{k}'"));
            if (problems.Count > 0)
            {
                throw new CheckpointFormatException($"Checkpoint {directory} does not fit the model ({problems.Count} problem(s)): {string.Join("; ", problems.Take(20))}{(problems.Count > 20 ? "; …" : string.Empty)}");
            }

            using var noGrad = no_grad();
            foreach (var reader in readers)
            {
                foreach (var entry in reader.Entries.Values)
                {
                    if (!targets.TryGetValue(entry.Name, out var target))
                    {
                        continue;
                    }

                    using var scope = NewDisposeScope();
                    var values = reader.ReadFloat32(entry.Name);
                    target.copy_(torch.tensor(values, entry.Shape).to(target.dtype, target.device));
                }
            }
        }
        finally
        {
            foreach (var r in readers) r.Dispose();
        }
    }

    /// <summary>
    /// Saves the model (without any LoRA adapter tensors) as a Hugging Face folder: config.json and safetensors
    /// (sharded with an index above <paramref name="maxShardBytes"/>), in <paramref name="dtype"/> (F32, BF16 or F16).
    /// </summary>
    public static void Save(Qwen2VLForConditionalGeneration model, string directory, SafetensorsDType dtype = SafetensorsDType.F32, long maxShardBytes = 5L * 1024 * 1024 * 1024)
    {
        Directory.CreateDirectory(directory);
        var tensors = TargetParameters(model)
            .Select(kv => ToSafetensors(kv.Key, kv.Value, dtype))
            .ToList();
        Safetensors.WriteCheckpoint(directory, tensors, maxShardBytes);
        model.Config.Save(Path.Combine(directory, "config.json"));
    }

    /// <summary>Converts a tensor to a safetensors record (floating dtypes only).</summary>
    public static SafetensorsTensor ToSafetensors(string name, Tensor tensor, SafetensorsDType dtype)
    {
        using var scope = NewDisposeScope();
        var values = tensor.detach().to(ScalarType.Float32).cpu().contiguous().data<float>().ToArray();
        return new SafetensorsTensor(name, dtype, tensor.shape, Safetensors.FromFloat32(values, dtype));
    }

    /// <summary>The model's checkpoint parameters by HF name (LoRA tensors excluded).</summary>
    internal static Dictionary<string, Tensor> TargetParameters(Qwen2VLForConditionalGeneration model) =>
        model.named_parameters()
            .Where(p => !p.name.Contains(".lora_", StringComparison.Ordinal))
            .ToDictionary(p => p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
}
