namespace DeepPerception.Abstractions.Serving;

/// <summary>Decoding settings of a ground request (the paper's evaluation decodes greedily with the r1 prompt).</summary>
/// <param name="MaxNewTokens">Longest completion, 1–2048.</param>
/// <param name="Temperature">0 decodes greedily.</param>
/// <param name="TopP">Nucleus sampling mass (1 = off).</param>
/// <param name="TopK">Top-k sampling (0 = off).</param>
/// <param name="Seed">Sampling seed.</param>
/// <param name="Prompt">The prompt style: "r1" (think, then answer) or "base" (answer only).</param>
[GenerateSerializer, Immutable, Alias("dp.GroundSettings")]
public sealed record GroundSettings(
    [property: Id(0)] int MaxNewTokens = 256,
    [property: Id(1)] double Temperature = 0,
    [property: Id(2)] double TopP = 1.0,
    [property: Id(3)] int TopK = 0,
    [property: Id(4)] long? Seed = null,
    [property: Id(5)] string Prompt = "r1")
{
    /// <summary>Throws <see cref="InvalidRequestException"/> naming the first setting out of range.</summary>
    public GroundSettings Validate()
    {
        if (MaxNewTokens is < 1 or > 2048)
        {
            throw new InvalidRequestException($"maxNewTokens must be between 1 and 2048 (got {MaxNewTokens}).");
        }

        if (!double.IsFinite(Temperature) || Temperature is < 0 or > 5)
        {
            throw new InvalidRequestException($"temperature must be a number between 0 and 5 (got {Temperature}).");
        }

        if (!double.IsFinite(TopP) || TopP is <= 0 or > 1)
        {
            throw new InvalidRequestException($"topP must be in (0, 1] (got {TopP}).");
        }

        if (TopK is < 0 or > 100_000)
        {
            throw new InvalidRequestException($"topK must be between 0 and 100000 (got {TopK}).");
        }

        if (Prompt is not ("r1" or "base"))
        {
            throw new InvalidRequestException($"prompt must be 'r1' or 'base' (got '{Prompt}').");
        }

        return this;
    }
}

/// <summary>One ground request as a GPU silo receives it; the caller has already resolved and authorised the model.</summary>
/// <param name="RequestId">A unique id (also the id of the GPU-seconds charge).</param>
/// <param name="TenantId">The tenant the request is served for.</param>
/// <param name="CheckpointKey">The model weights (an artifact folder key).</param>
/// <param name="Image">The encoded image (PNG, JPEG, GIF, WebP, BMP); decoded with the engine's hardened decoder.</param>
/// <param name="Query">An entity name ("the Blue Jay") or a full question.</param>
/// <param name="Settings">Decoding settings.</param>
[GenerateSerializer, Immutable, Alias("dp.GroundWork")]
public sealed record GroundWork(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string TenantId,
    [property: Id(2)] string CheckpointKey,
    [property: Id(3)] byte[] Image,
    [property: Id(4)] string Query,
    [property: Id(5)] GroundSettings Settings);

/// <summary>A box: corners (x1, y1) top-left and (x2, y2) bottom-right.</summary>
[GenerateSerializer, Immutable, Alias("dp.BoxCoordinates")]
public sealed record BoxCoordinates(
    [property: Id(0)] double X1,
    [property: Id(1)] double Y1,
    [property: Id(2)] double X2,
    [property: Id(3)] double Y2);

/// <summary>Where the time of a ground request went (milliseconds).</summary>
/// <param name="QueueMs">Waiting for a batch slot on the GPU silo.</param>
/// <param name="PreprocessMs">Decoding and image preprocessing.</param>
/// <param name="PrefillMs">Prompt prefill of the batch.</param>
/// <param name="DecodeMs">Token decoding of the batch.</param>
/// <param name="ModelMs">Preprocessing, prefill and decoding together (the request's batch).</param>
/// <param name="TotalMs">From arrival at the GPU silo to the answer.</param>
/// <param name="BatchSize">How many requests shared the batch.</param>
[GenerateSerializer, Immutable, Alias("dp.GroundTimings")]
public sealed record GroundTimings(
    [property: Id(0)] double QueueMs,
    [property: Id(1)] double PreprocessMs,
    [property: Id(2)] double PrefillMs,
    [property: Id(3)] double DecodeMs,
    [property: Id(4)] double ModelMs,
    [property: Id(5)] double TotalMs,
    [property: Id(6)] int BatchSize);

/// <summary>The answer to a ground request.</summary>
/// <param name="RequestId">The request id.</param>
/// <param name="CheckpointKey">The weights that answered.</param>
/// <param name="ImageWidth">Original image width in pixels.</param>
/// <param name="ImageHeight">Original image height in pixels.</param>
/// <param name="Box">The box in original-image pixels (null when the answer has no usable box).</param>
/// <param name="ModelBox">The box on the model's own grid (Qwen2-VL: 0–1000).</param>
/// <param name="BoxConvention">The model family's box convention ("qwen2-vl" or "qwen2.5-vl").</param>
/// <param name="Text">The whole completion.</param>
/// <param name="Reasoning">The text inside &lt;think&gt;…&lt;/think&gt;, when present.</param>
/// <param name="ParseStatus">"parsed", "no_match" (no pattern matched) or "conversion_failed" (a value did not convert), as the evaluator's parser reports.</param>
/// <param name="PromptTokens">Prompt length in tokens (image tokens included).</param>
/// <param name="GeneratedTokens">Completion length in tokens.</param>
/// <param name="FinishReason">"stop" or "length".</param>
/// <param name="Timings">Where the time went.</param>
/// <param name="GpuSeconds">The request's share of its batch's device time (what the tenant is charged).</param>
/// <param name="SiloId">The GPU silo that answered.</param>
[GenerateSerializer, Immutable, Alias("dp.GroundOutcome")]
public sealed record GroundOutcome(
    [property: Id(0)] string RequestId,
    [property: Id(1)] string CheckpointKey,
    [property: Id(2)] int ImageWidth,
    [property: Id(3)] int ImageHeight,
    [property: Id(4)] BoxCoordinates? Box,
    [property: Id(5)] BoxCoordinates? ModelBox,
    [property: Id(6)] string BoxConvention,
    [property: Id(7)] string Text,
    [property: Id(8)] string? Reasoning,
    [property: Id(9)] string ParseStatus,
    [property: Id(10)] int PromptTokens,
    [property: Id(11)] int GeneratedTokens,
    [property: Id(12)] string FinishReason,
    [property: Id(13)] GroundTimings Timings,
    [property: Id(14)] double GpuSeconds,
    [property: Id(15)] string SiloId);

/// <summary>One event of a streamed ground request: text deltas, then exactly one final event.</summary>
/// <param name="Kind">"token" (a text delta in <paramref name="Text"/>) or "final" (<paramref name="Final"/> set).</param>
/// <param name="Text">The new text of a token event.</param>
/// <param name="Final">The answer, on the final event.</param>
[GenerateSerializer, Immutable, Alias("dp.GroundStreamEvent")]
public sealed record GroundStreamEvent(
    [property: Id(0)] string Kind,
    [property: Id(1)] string? Text,
    [property: Id(2)] GroundOutcome? Final);

/// <summary>Serving statistics of one GPU silo's grounding batcher.</summary>
[GenerateSerializer, Immutable, Alias("dp.GroundingStats")]
public sealed record GroundingStats(
    [property: Id(0)] string SiloId,
    [property: Id(1)] long Requests,
    [property: Id(2)] long Batches,
    [property: Id(3)] int MaxBatchSize,
    [property: Id(4)] double MaxWaitMs,
    [property: Id(5)] int QueueLength,
    [property: Id(6)] System.Collections.Immutable.ImmutableArray<string> LoadedCheckpoints);

/// <summary>
/// Serves ground requests for one checkpoint on a GPU silo. Keyed by the checkpoint key so that all requests for the
/// same weights meet on one silo, where a dynamic batcher groups them (max batch, max wait) into batched generation.
/// Callers (the HTTP API, the portal) resolve the tenant's model version to its checkpoint and authorise first.
/// </summary>
[Alias("dp.IGroundingGrain")]
public interface IGroundingGrain : IGrainWithStringKey
{
    /// <summary>Grounds the query in the image.</summary>
    /// <exception cref="InvalidRequestException">The image cannot be decoded safely or a setting is out of range.</exception>
    [Alias("Ground")]
    Task<GroundOutcome> GroundAsync(GroundWork work);

    /// <summary>Grounds the query, streaming text deltas as they are generated and then the final answer.</summary>
    [Alias("GroundStream")]
    IAsyncEnumerable<GroundStreamEvent> GroundStreamAsync(GroundWork work);

    /// <summary>Returns the serving statistics of the silo this grain runs on.</summary>
    [Alias("GetStats")]
    Task<GroundingStats> GetStatsAsync();
}
