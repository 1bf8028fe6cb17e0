using DeepPerception.Abstractions.Serving;

namespace DeepPerception.Grains.Serving;

/// <summary>
/// The port through which GPU silos answer ground requests. The production implementation decodes the image with the
/// engine's hardened decoder, batches concurrent requests dynamically and runs them on the silo's device thread; it is
/// registered only on GPU silos.
/// </summary>
public interface IGroundingRunner
{
    /// <summary>
    /// Answers one ground request. <paramref name="onText"/>, when given, receives the completion's text deltas as they
    /// are generated (on a thread of the runner's choosing; it must not block).
    /// </summary>
    /// <exception cref="DeepPerception.Abstractions.InvalidRequestException">The image or a setting is not acceptable.</exception>
    Task<GroundOutcome> GroundAsync(GroundWork work, Action<string>? onText, CancellationToken cancellationToken);

    /// <summary>Current serving statistics.</summary>
    GroundingStats GetStats(string siloId);
}
