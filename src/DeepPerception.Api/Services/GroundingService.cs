using System.Diagnostics;
using System.Runtime.CompilerServices;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Serving;
using DeepPerception.Abstractions.Telemetry;
using DeepPerception.Abstractions.Tenancy;
using DeepPerception.Api.Identity;
using DeepPerception.Client;
using DeepPerception.ML.Preprocessing.Images;
using Microsoft.Extensions.Logging;

namespace DeepPerception.Api.Services;

/// <summary>A ground request as the service takes it (the image already read from JSON base64 or multipart).</summary>
/// <param name="Model">The tenant's model id.</param>
/// <param name="Version">The version (null: the active version, else the base checkpoint).</param>
/// <param name="Image">The encoded image.</param>
/// <param name="Query">An entity name or a question.</param>
/// <param name="Settings">Decoding settings.</param>
public sealed record GroundRequest(string Model, int? Version, byte[] Image, string Query, GroundSettings Settings);

/// <summary>One server-sent event of a streamed ground request.</summary>
/// <param name="Kind">"token" or "final".</param>
/// <param name="Text">The text delta of a token event.</param>
/// <param name="Final">The answer of the final event.</param>
public sealed record GroundEvent(string Kind, string? Text, GroundResultDto? Final);

/// <summary>
/// Ground requests: checks the query, settings and image (the engine's hardened decoder; typed 4xx), refuses when the
/// tenant's GPU-seconds budget is spent, resolves the tenant's model version to its checkpoint, calls the grounding
/// grain keyed by that checkpoint (dynamic batching on a GPU silo) and meters the answer's GPU seconds (<see cref="ServingUsageMeter"/>, charged off the response path).
/// </summary>
public sealed class GroundingService(IGrainFactory grains, DeepPerceptionApiOptions options, ServingUsageMeter meter)
{
    private readonly SafeImageDecoder _decoder = new(ImageDecodeLimits.Default with
    {
        MaxFileBytes = options.MaxImageBytes,
        MaxPixels = options.MaxImagePixels,
    });

    /// <summary>Builds and validates decoding settings from optional values.</summary>
    public static GroundSettings Settings(int? maxNewTokens, double? temperature, double? topP, int? topK, long? seed, string? prompt) =>
        new GroundSettings(maxNewTokens ?? 256, temperature ?? 0, topP ?? 1.0, topK ?? 0, seed, prompt ?? "r1").Validate();

    /// <summary>Grounds the query in the image.</summary>
    public async Task<GroundResultDto> GroundAsync(PlatformPrincipal caller, GroundRequest request, CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            var (work, version) = await PrepareAsync(caller, request).ConfigureAwait(false);
            var outcome = await grains.GetGrain<IGroundingGrain>(work.CheckpointKey).GroundAsync(work).WaitAsync(cancellationToken).ConfigureAwait(false);
            Charge(caller, outcome);
            var result = ToDto(request.Model, version, outcome, watch.Elapsed.TotalMilliseconds);
            PlatformMetrics.GroundRequest(caller.TenantId, "ok", stream: false, watch.Elapsed);
            return result;
        }
        catch (Exception ex)
        {
            PlatformMetrics.GroundRequest(caller?.TenantId ?? "unknown", OutcomeTag(ex), stream: false, watch.Elapsed);
            throw;
        }
    }

    /// <summary>Grounds the query, streaming text deltas and then one final event.</summary>
    public async IAsyncEnumerable<GroundEvent> StreamAsync(PlatformPrincipal caller, GroundRequest request,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        var outcome = "incomplete";
        try
        {
            (GroundWork Work, int? Version) prepared;
            try
            {
                prepared = await PrepareAsync(caller, request).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                outcome = OutcomeTag(ex);
                throw;
            }

            var (work, version) = prepared;
            await using var events = grains.GetGrain<IGroundingGrain>(work.CheckpointKey).GroundStreamAsync(work)
                .WithCancellation(cancellationToken).ConfigureAwait(false).GetAsyncEnumerator();
            while (true)
            {
                GroundStreamEvent e;
                try
                {
                    if (!await events.MoveNextAsync())
                    {
                        break;
                    }

                    e = events.Current;
                }
                catch (Exception ex)
                {
                    outcome = OutcomeTag(ex);
                    throw;
                }

                if (e.Final is { } final)
                {
                    Charge(caller, final);
                    outcome = "ok";
                    yield return new GroundEvent("final", null, ToDto(request.Model, version, final, watch.Elapsed.TotalMilliseconds));
                    yield break;
                }

                yield return new GroundEvent("token", e.Text, null);
            }
        }
        finally
        {
            PlatformMetrics.GroundRequest(caller?.TenantId ?? "unknown", outcome, stream: true, watch.Elapsed);
        }
    }

    /// <summary>The <c>outcome</c> tag of a failed ground request: the error's stable code, e.g. invalid_request.</summary>
    private static string OutcomeTag(Exception ex) => ex switch
    {
        OperationCanceledException => "cancelled",
        ImageDecodeException => "invalid_image",
        ApiException api => api.Code,
        PlatformException platform => platform.Code,
        _ => "error",
    };

    /// <summary>Validates a request and resolves its checkpoint; the first awaited step of every ground call.</summary>
    public async Task<(GroundWork Work, int? Version)> PrepareAsync(PlatformPrincipal caller, GroundRequest request)
    {
        ArgumentNullException.ThrowIfNull(caller);
        ArgumentNullException.ThrowIfNull(request);
        PlatformKeys.ValidateId(request.Model, "model id");
        if (string.IsNullOrWhiteSpace(request.Query) || request.Query.Length > 1000 || request.Query.Any(c => char.IsControl(c) && c is not ('\n' or '\t')))
        {
            throw new InvalidRequestException("query must be 1–1000 characters without control characters (an entity name or a question).");
        }

        request.Settings.Validate();
        if (request.Version is < 1)
        {
            throw new InvalidRequestException($"version must be at least 1 (got {request.Version}).");
        }

        if (request.Image is null || request.Image.Length == 0)
        {
            throw new InvalidRequestException("image is missing: send it base64 in 'imageBase64' or as a multipart file part 'image'.");
        }

        if (request.Image.LongLength > options.MaxImageBytes)
        {
            throw new PayloadTooLargeException($"The image has {request.Image.LongLength} bytes; at most {options.MaxImageBytes} are accepted.");
        }

        // The header check (format sniffing, container walk, size, pixel and frame limits) refuses bombs and disguised
        // files before anything reaches a GPU silo; the silo's full hardened decode refuses the rest (truncated or corrupt
        // pixel data) with ImageRefusedException. Both map to the same 413/415/422 answers.
        _decoder.Inspect(request.Image);

        var quota = (await grains.GetGrain<ITenantGrain>(caller.TenantId).GetProfileAsync().ConfigureAwait(false)).Quota;
        if (quota.RemainingGpuSeconds <= 0)
        {
            throw new BudgetExceededException(
                $"The tenant's GPU-seconds budget is spent ({quota.GpuSecondsCharged:F1} of {quota.GpuSecondsBudget:F1} charged).", 0);
        }

        var model = grains.GetGrain<IModelGrain>(PlatformKeys.Scoped(caller.TenantId, request.Model, "model id"));
        var target = await model.ResolveServingAsync(request.Version).ConfigureAwait(false);
        PlatformKeys.RequireTenantArtifact(caller.TenantId, target.CheckpointKey, "checkpoint");
        var work = new GroundWork(Guid.NewGuid().ToString("N"), caller.TenantId, target.CheckpointKey, request.Image, request.Query.Trim(), request.Settings);
        return (work, target.Version);
    }

    private void Charge(PlatformPrincipal caller, GroundOutcome outcome) => meter.Add(caller.TenantId, outcome.GpuSeconds);

    private static GroundResultDto ToDto(string model, int? version, GroundOutcome o, double serverMs) => new(o.RequestId, model, version, o.ImageWidth,
        o.ImageHeight, Box(o.Box), Box(o.ModelBox), o.BoxConvention, o.Text, o.Reasoning, o.ParseStatus, o.PromptTokens, o.GeneratedTokens,
        o.FinishReason, o.GpuSeconds, new GroundTimingsDto(o.Timings.QueueMs, o.Timings.PreprocessMs, o.Timings.PrefillMs, o.Timings.DecodeMs,
            o.Timings.ModelMs, o.Timings.TotalMs, o.Timings.BatchSize, serverMs));

    private static BoxDto? Box(BoxCoordinates? b) => b is null ? null : new BoxDto(b.X1, b.Y1, b.X2, b.Y2);
}
