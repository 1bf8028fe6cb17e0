using System.Runtime.CompilerServices;
using System.Threading.Channels;
using DeepPerception.Abstractions;
using DeepPerception.Abstractions.Serving;
using DeepPerception.Grains.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Concurrency;
using Orleans.Placement;

namespace DeepPerception.Grains.Serving;

/// <summary>
/// Serves ground requests for one checkpoint (the grain key). Placed only on GPU silos; reentrant, so that concurrent
/// requests all reach the silo's <see cref="IGroundingRunner"/>, whose dynamic batcher groups them. Holds no tensors
/// and no state.
/// </summary>
[GpuOnly]
[RandomPlacement]
[Reentrant]
internal sealed class GroundingGrain(IServiceProvider services, ILocalSiloDetails silo) : Grain, IGroundingGrain
{
    private IGroundingRunner Runner => services.GetService<IGroundingRunner>()
        ?? throw new InvalidOperationException($"Silo {silo.Name} has no grounding runner (it is not a GPU silo with the engine).");

    Task<GroundOutcome> IGroundingGrain.GroundAsync(GroundWork work)
    {
        Check(work);
        return Stamp(Runner.GroundAsync(work, onText: null, CancellationToken.None));
    }

    async IAsyncEnumerable<GroundStreamEvent> IGroundingGrain.GroundStreamAsync(GroundWork work)
    {
        Check(work);
        var channel = Channel.CreateUnbounded<GroundStreamEvent>(new UnboundedChannelOptions { SingleReader = true });
        var answer = Stamp(Runner.GroundAsync(work, text => channel.Writer.TryWrite(new GroundStreamEvent("token", text, null)), CancellationToken.None));
        _ = answer.ContinueWith(t => channel.Writer.TryComplete(t.Exception?.InnerException), TaskScheduler.Default);
        await foreach (var item in channel.Reader.ReadAllAsync())
        {
            yield return item;
        }

        yield return new GroundStreamEvent("final", null, await answer);
    }

    Task<GroundingStats> IGroundingGrain.GetStatsAsync() => Task.FromResult(Runner.GetStats(silo.SiloAddress.ToParsableString()));

    private async Task<GroundOutcome> Stamp(Task<GroundOutcome> answer) =>
        (await answer) with { SiloId = silo.SiloAddress.ToParsableString() };

    private void Check(GroundWork work)
    {
        ArgumentNullException.ThrowIfNull(work);
        if (work.CheckpointKey != this.GetPrimaryKeyString())
        {
            throw new InvalidRequestException(
                $"The request names checkpoint '{work.CheckpointKey}' but was sent to the grounding grain of '{this.GetPrimaryKeyString()}'.");
        }

        PlatformKeys.RequireTenantArtifact(work.TenantId, work.CheckpointKey, "checkpoint");
        if (string.IsNullOrWhiteSpace(work.Query))
        {
            throw new InvalidRequestException("The query is empty: name the entity to find, e.g. \"the Blue Jay\".");
        }

        if (work.Query.Length > 1000)
        {
            throw new InvalidRequestException($"The query is {work.Query.Length} characters long; at most 1000 are allowed.");
        }

        if (work.Image is null || work.Image.Length == 0)
        {
            throw new InvalidRequestException("The image is empty.");
        }

        (work.Settings ?? throw new InvalidRequestException("The ground settings are missing.")).Validate();
    }
}
