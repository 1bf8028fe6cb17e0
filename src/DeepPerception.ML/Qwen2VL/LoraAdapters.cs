using System.Text.Json;
using System.Text.Json.Nodes;
using DeepPerception.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace DeepPerception.ML.Qwen2VL;

/// <summary>LoRA settings (PEFT's <c>LoraConfig</c> fields).</summary>
public sealed record LoraOptions
{
    /// <summary>Rank r.</summary>
    public int Rank { get; init; } = 8;

    /// <summary>lora_alpha (scaling = alpha / r).</summary>
    public double Alpha { get; init; } = 16;

    /// <summary>Dropout on the adapter input during training.</summary>
    public double Dropout { get; init; } = 0.05;

    /// <summary>Last name segments of the linear layers to adapt (decoder and vision tower names).</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj", "qkv", "proj", "fc1", "fc2"];

    /// <summary>Whether vision-tower layers (<c>visual.*</c>) are adapted too.</summary>
    public bool IncludeVision { get; init; } = true;
}

/// <summary>
/// LoRA adapters on the linear layers of the decoder and the vision tower: attach, freeze the base, merge, and save/load
/// separately in PEFT's layout (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c> with names
/// <c>base_model.model.{layer}.lora_A.weight</c>).
/// </summary>
public static class LoraAdapters
{
    /// <summary>PEFT's adapter weights file.</summary>
    public const string WeightsFile = "adapter_model.safetensors";

    /// <summary>PEFT's adapter config file.</summary>
    public const string ConfigFile = "adapter_config.json";

    /// <summary>The prefix PEFT puts before layer names in adapter files.</summary>
    internal const string Prefix = "base_model.model.";

    /// <summary>Attaches fresh adapters to every targeted layer; returns the adapted layer names.</summary>
    public static IReadOnlyList<string> Attach(Qwen2VLForConditionalGeneration model, LoraOptions options)
    {
        if (options.Rank <= 0)
        {
            throw new ArgumentException("LoRA rank must be positive.");
        }

        var targets = options.TargetModules.ToHashSet(StringComparer.Ordinal);
        var names = new List<string>();
        foreach (var (name, layer) in model.Linears().ToList())
        {
            var last = name[(name.LastIndexOf('.') + 1)..];
            if (name == "lm_head" || name.Contains(".merger.", StringComparison.Ordinal) || !targets.Contains(last))
            {
                continue;
            }

            if (!options.IncludeVision && name.StartsWith("visual.", StringComparison.Ordinal))
            {
                continue;
            }

            layer.AttachLora(options.Rank, options.Alpha, options.Dropout);
            names.Add(name);
        }

        if (names.Count == 0)
        {
            throw new ArgumentException($"No layer matches the LoRA target modules [{string.Join(", ", options.TargetModules)}].");
        }

        return names;
    }

    /// <summary>Freezes everything except adapter tensors; returns the trainable parameters.</summary>
    public static IReadOnlyList<Parameter> FreezeBaseAndGetTrainable(Qwen2VLForConditionalGeneration model)
    {
        var trainable = new List<Parameter>();
        foreach (var (name, p) in model.named_parameters())
        {
            var isLora = name.Contains(".lora_", StringComparison.Ordinal);
            p.requires_grad = isLora;
            if (isLora)
            {
                trainable.Add(p);
            }
        }

        return trainable;
    }

    /// <summary>Merges every adapter into its base weight and removes it.</summary>
    public static void Merge(Qwen2VLForConditionalGeneration model)
    {
        foreach (var (_, layer) in model.Linears().ToList())
        {
            layer.MergeLora();
        }
    }

    /// <summary>Removes every adapter without merging (the base model is left as it was).</summary>
    public static void Detach(Qwen2VLForConditionalGeneration model)
    {
        foreach (var (_, layer) in model.Linears().ToList())
        {
            layer.DetachLora();
        }
    }

    /// <summary>Bypasses every adapter until the returned scope is disposed (the base model's output, e.g. a GRPO reference).</summary>
    public static IDisposable Disabled(Qwen2VLForConditionalGeneration model)
    {
        var layers = model.Linears().Select(l => l.Layer).Where(l => l.HasLora && l.LoraEnabled).ToList();
        foreach (var l in layers) l.LoraEnabled = false;
        return new Restore(layers);
    }

    private sealed class Restore(List<AdaptableLinear> layers) : IDisposable
    {
        public void Dispose()
        {
            foreach (var l in layers) l.LoraEnabled = true;
        }
    }

    /// <summary>Saves the adapters in PEFT's layout.</summary>
    public static void Save(Qwen2VLForConditionalGeneration model, string directory, LoraOptions options, string baseModel)
    {
        var tensors = model.named_parameters()
            .Where(p => p.name.Contains(".lora_", StringComparison.Ordinal))
            .Select(p => Qwen2VLCheckpoint.ToSafetensors(Prefix + p.name, p.parameter, SafetensorsDType.F32))
            .ToList();
        if (tensors.Count == 0)
        {
            throw new InvalidOperationException("The model carries no LoRA adapter to save.");
        }

        Directory.CreateDirectory(directory);
        Safetensors.Write(Path.Combine(directory, WeightsFile), tensors);
        var adapted = model.Linears().Where(l => l.Layer.HasLora).Select(l => l.Name[(l.Name.LastIndexOf('.') + 1)..]).Distinct().Order().ToArray();
        var config = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = baseModel,
            ["r"] = options.Rank,
            ["lora_alpha"] = options.Alpha,
            ["lora_dropout"] = options.Dropout,
            ["bias"] = "none",
            ["target_modules"] = new JsonArray(adapted.Select(a => (JsonNode)a).ToArray()),
            ["deepperception_include_vision"] = options.IncludeVision,
            ["inference_mode"] = true,
        };
        File.WriteAllText(Path.Combine(directory, ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>
    /// Copies the attached adapters as weight deltas (A [r, in] and B·scaling [out, r], on the CPU, outside any dispose
    /// scope), for example before <see cref="Merge"/>, so that several training stages can later be saved as one adapter
    /// with <see cref="SaveCombined"/>.
    /// </summary>
    public static IReadOnlyList<LoraDelta> Capture(Qwen2VLForConditionalGeneration model)
    {
        using var noGrad = no_grad();
        var deltas = new List<LoraDelta>();
        foreach (var (name, layer) in model.Linears())
        {
            if (layer.LoraA is { } a && layer.LoraB is { } b)
            {
                deltas.Add(new LoraDelta(name,
                    a.weight!.detach().to(ScalarType.Float32).cpu().clone().DetachFromDisposeScope(),
                    b.weight!.detach().to(ScalarType.Float32).cpu().mul(layer.LoraScaling).DetachFromDisposeScope()));
            }
        }

        return deltas;
    }

    /// <summary>
    /// Saves the sum of several captured adapters (one per training stage, applied one after the other) as a single
    /// PEFT adapter: per layer A = [A₁; A₂; …] and B = [s₁B₁, s₂B₂, …] with lora_alpha = r, so that
    /// scaling · B·A = Σ sᵢ·Bᵢ·Aᵢ exactly. Every stage must adapt the same layers with the same rank.
    /// </summary>
    public static void SaveCombined(string directory, IReadOnlyList<IReadOnlyList<LoraDelta>> stages, string baseModel, bool includeVision)
    {
        if (stages.Count == 0 || stages[0].Count == 0)
        {
            throw new ArgumentException("There is no captured adapter to save.");
        }

        var layers = stages[0].Select(d => d.Layer).ToArray();
        if (stages.Any(s => !s.Select(d => d.Layer).SequenceEqual(layers)))
        {
            throw new ArgumentException("The captured stages adapt different layers; they cannot be combined into one adapter.");
        }

        var tensors = new List<SafetensorsTensor>();
        long? rank = null;
        for (var i = 0; i < layers.Length; i++)
        {
            using var scope = NewDisposeScope();
            var a = torch.cat(stages.Select(s => s[i].A).ToArray(), 0);
            var b = torch.cat(stages.Select(s => s[i].ScaledB).ToArray(), 1);
            if (rank is not null && rank != a.shape[0])
            {
                throw new ArgumentException("The captured layers have different ranks; they cannot share one adapter config.");
            }

            rank = a.shape[0];
            tensors.Add(Qwen2VLCheckpoint.ToSafetensors($"{Prefix}{layers[i]}.lora_A.weight", a, SafetensorsDType.F32));
            tensors.Add(Qwen2VLCheckpoint.ToSafetensors($"{Prefix}{layers[i]}.lora_B.weight", b, SafetensorsDType.F32));
        }

        Directory.CreateDirectory(directory);
        Safetensors.Write(Path.Combine(directory, WeightsFile), tensors);
        var config = new JsonObject
        {
            ["peft_type"] = "LORA",
            ["task_type"] = "CAUSAL_LM",
            ["base_model_name_or_path"] = baseModel,
            ["r"] = rank,
            ["lora_alpha"] = rank,
            ["lora_dropout"] = 0.0,
            ["bias"] = "none",
            ["target_modules"] = new JsonArray(layers.Select(l => l[(l.LastIndexOf('.') + 1)..]).Distinct().Order().Select(a => (JsonNode)a).ToArray()),
            ["deepperception_include_vision"] = includeVision,
            ["inference_mode"] = true,
        };
        File.WriteAllText(Path.Combine(directory, ConfigFile), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Reads the options of a saved adapter.</summary>
    public static LoraOptions ReadOptions(string directory)
    {
        var path = Path.Combine(directory, ConfigFile);
        if (!File.Exists(path))
        {
            throw new CheckpointFormatException($"Adapter config not found: {path}");
        }

        var json = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new CheckpointFormatException($"{path}: not a JSON object.");
        return new LoraOptions
        {
            Rank = json["r"]?.GetValue<int>() ?? throw new CheckpointFormatException($"{path}: no 'r'."),
            Alpha = json["lora_alpha"]?.GetValue<double>() ?? throw new CheckpointFormatException($"{path}: no 'lora_alpha'."),
            Dropout = json["lora_dropout"]?.GetValue<double>() ?? 0,
            TargetModules = (json["target_modules"] as JsonArray)?.Select(x => x!.GetValue<string>()).ToArray()
                ?? throw new CheckpointFormatException($"{path}: no 'target_modules'."),
            IncludeVision = json["deepperception_include_vision"]?.GetValue<bool>() ?? true,
        };
    }

    /// <summary>Attaches and loads a saved adapter strictly (every adapter tensor must match a layer, and vice versa).</summary>
    public static LoraOptions Load(Qwen2VLForConditionalGeneration model, string directory)
    {
        var options = ReadOptions(directory);
        Attach(model, options);
        using var reader = SafetensorsReader.Open(Path.Combine(directory, WeightsFile));
        var targets = model.named_parameters()
            .Where(p => p.name.Contains(".lora_", StringComparison.Ordinal))
            .ToDictionary(p => Prefix + p.name, p => (Tensor)p.parameter, StringComparer.Ordinal);
        var problems = new List<string>();
        problems.AddRange(reader.Entries.Keys.Where(k => !targets.ContainsKey(k)).Select(k => $"unexpected adapter tensor '{k}'"));
        problems.AddRange(targets.Keys.Where(k => !reader.Entries.ContainsKey(k)).Select(k => $"missing adapter tensor '{k}'"));
        problems.AddRange(reader.Entries.Values.Where(e => targets.TryGetValue(e.Name, out var t) && !e.Shape.SequenceEqual(t.shape))
            .Select(e => $"adapter tensor '{e.Name}' has shape [{string.Join(',', e.Shape)}], expected [{string.Join(',', targets[e.Name].shape)}]"));
        if (problems.Count > 0)
        {
            Detach(model);
            throw new CheckpointFormatException($"Adapter {directory} does not fit the model: {string.Join("; ", problems.Take(20))}");
        }

        using var noGrad = no_grad();
        foreach (var entry in reader.Entries.Values)
        {
            using var scope = NewDisposeScope();
            var target = targets[entry.Name];
            target.copy_(torch.tensor(reader.ReadFloat32(entry.Name), entry.Shape).to(target.dtype, target.device));
        }

        return options;
    }
}

/// <summary>A captured adapter of one layer: A [r, in] and B·scaling [out, r] (CPU, float32, owned by the caller).</summary>
public sealed record LoraDelta(string Layer, Tensor A, Tensor ScaledB) : IDisposable
{
    /// <inheritdoc />
    public void Dispose()
    {
        A.Dispose();
        ScaledB.Dispose();
    }
}
