using DeepPerception.Checkpoints;
using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Qwen2VL;

/// <summary>
/// Many LoRA adapters served at once on one shared base model: each adapter (PEFT layout, as
/// <see cref="LoraAdapters.Save"/> writes it) is loaded under a name next to the base weights, and a batch routes each of
/// its rows to one adapter or to none. A routed layer computes <c>W·x + b</c> for every row and adds
/// <c>scaling · x·Aᵀ·Bᵀ</c> only for the rows of each adapter, so one batched generation answers requests of different
/// fine-tunes; the vision tower's rows are the image patches, routed with their prompt's adapter.
/// </summary>
public static class ServedAdapters
{
    /// <summary>
    /// Loads the adapter in <paramref name="directory"/> under <paramref name="name"/>. Strict: every adapter tensor must
    /// name a linear layer of the model with matching shapes, and A and B must come in pairs.
    /// </summary>
    /// <returns>The number of adapted layers.</returns>
    /// <exception cref="CheckpointFormatException">The adapter does not fit the model.</exception>
    public static int Load(Qwen2VLForConditionalGeneration model, string name, string directory)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(name);
        var options = LoraAdapters.ReadOptions(directory);
        var scaling = options.Alpha / options.Rank;
        using var reader = SafetensorsReader.Open(Path.Combine(directory, LoraAdapters.WeightsFile));
        var layers = model.Linears().ToDictionary(l => l.Name, l => l.Layer, StringComparer.Ordinal);
        var pairs = new Dictionary<string, (SafetensorsEntry? A, SafetensorsEntry? B)>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var entry in reader.Entries.Values)
        {
            var key = entry.Name;
            var isA = key.EndsWith(".lora_A.weight", StringComparison.Ordinal);
            var isB = key.EndsWith(".lora_B.weight", StringComparison.Ordinal);
            if (!key.StartsWith(LoraAdapters.Prefix, StringComparison.Ordinal) || !(isA || isB))
            {
                problems.Add($"unexpected adapter tensor '{key}'");
                continue;
            }

            var layer = key[LoraAdapters.Prefix.Length..^".lora_A.weight".Length];
            var pair = pairs.GetValueOrDefault(layer);
            pairs[layer] = isA ? (entry, pair.B) : (pair.A, entry);
        }

        foreach (var (layerName, (a, b)) in pairs)
        {
            if (!layers.TryGetValue(layerName, out var layer))
            {
                problems.Add($"adapter layer '{layerName}' is not a linear layer of the model");
            }
            else if (a is null || b is null)
            {
                problems.Add($"adapter layer '{layerName}' lacks its lora_{(a is null ? "A" : "B")} tensor");
            }
            else if (a.Shape.Length != 2 || b.Shape.Length != 2 || a.Shape[1] != layer.InFeatures || b.Shape[0] != layer.OutFeatures || a.Shape[0] != b.Shape[1])
            {
                problems.Add($"adapter layer '{layerName}' has A [{string.Join(',', a.Shape)}] and B [{string.Join(',', b.Shape)}] for a [{layer.OutFeatures}×{layer.InFeatures}] layer");
            }
            else if (layer.ServedAdapters.Contains(name))
            {
                problems.Add($"an adapter named '{name}' is already loaded");
                break;
            }
        }

        if (pairs.Count == 0)
        {
            problems.Add("it holds no LoRA tensor");
        }

        if (problems.Count > 0)
        {
            throw new CheckpointFormatException($"Adapter {directory} does not fit the model: {string.Join("; ", problems.Take(20))}");
        }

        var device = model.Device;
        var dtype = model.DType;
        foreach (var (layerName, (a, b)) in pairs)
        {
            var ta = torch.tensor(reader.ReadFloat32(a!.Name), a.Shape).to(dtype, device).DetachFromDisposeScope();
            var tb = torch.tensor(reader.ReadFloat32(b!.Name), b.Shape).to(dtype, device).DetachFromDisposeScope();
            layers[layerName].AddServedAdapter(name, ta, tb, scaling);
        }

        return pairs.Count;
    }

    /// <summary>Removes a served adapter from every layer; returns whether it was loaded.</summary>
    public static bool Unload(Qwen2VLForConditionalGeneration model, string name)
    {
        ArgumentNullException.ThrowIfNull(model);
        var removed = false;
        foreach (var (_, layer) in model.Linears())
        {
            removed |= layer.RemoveServedAdapter(name);
        }

        return removed;
    }

    /// <summary>
    /// Routes the rows of the next forward passes until the returned scope is disposed: row r of the batch (prompt r)
    /// uses adapter <paramref name="rowAdapters"/>[r] (null = the base model), and so do its image patches, of which
    /// prompt r has <paramref name="patchesPerRow"/>[r] in the concatenated pixel rows.
    /// </summary>
    public static IDisposable Route(Qwen2VLForConditionalGeneration model, IReadOnlyList<string?> rowAdapters, IReadOnlyList<int> patchesPerRow)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (rowAdapters.Count != patchesPerRow.Count)
        {
            throw new ArgumentException($"{rowAdapters.Count} row adapters for {patchesPerRow.Count} rows of patches.");
        }

        var device = model.Device;
        var text = new List<(string Adapter, Tensor Rows)>();
        var vision = new List<(string Adapter, Tensor Rows)>();
        var offsets = new long[patchesPerRow.Count + 1];
        for (var r = 0; r < patchesPerRow.Count; r++)
        {
            offsets[r + 1] = offsets[r] + patchesPerRow[r];
        }

        foreach (var adapter in rowAdapters.OfType<string>().Distinct(StringComparer.Ordinal))
        {
            var rows = Enumerable.Range(0, rowAdapters.Count).Where(r => rowAdapters[r] == adapter).ToArray();
            text.Add((adapter, torch.tensor(rows.Select(r => (long)r).ToArray(), device: device).DetachFromDisposeScope()));
            var patches = rows.SelectMany(r => Enumerable.Range(0, patchesPerRow[r]).Select(p => offsets[r] + p)).ToArray();
            if (patches.Length > 0)
            {
                vision.Add((adapter, torch.tensor(patches, device: device).DetachFromDisposeScope()));
            }
        }

        var layers = model.Linears().ToList();
        foreach (var (name, layer) in layers)
        {
            var isVision = name.StartsWith("visual.", StringComparison.Ordinal);
            layer.SetRoutes(isVision ? vision : text, flattened: isVision);
        }

        return new RouteScope(layers.Select(l => l.Layer).ToList(), text.Concat(vision).Select(t => t.Rows).ToList());
    }

    private sealed class RouteScope(List<AdaptableLinear> layers, List<Tensor> indices) : IDisposable
    {
        private bool _disposed;

        public void Dispose()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (var layer in layers)
            {
                layer.SetRoutes(null, flattened: false);
            }

            foreach (var index in indices)
            {
                index.Dispose();
            }
        }
    }
}
