using System.Collections.Immutable;
using DeepPerception.Abstractions.Models;
using DeepPerception.Abstractions.Work;
using DeepPerception.Api.Services;

namespace DeepPerception.Api.Tests;

/// <summary>The wire form of work states.</summary>
public sealed class StateMappingTests
{
    [Theory]
    [InlineData(WorkState.Queued, "queued")]
    [InlineData(WorkState.Running, "running")]
    [InlineData(WorkState.WaitingForStorage, "waitingforstorage")]
    [InlineData(WorkState.Succeeded, "succeeded")]
    public void A_job_state_is_the_lower_case_state_name(WorkState state, string wire)
    {
        var request = new FineTuneRequest("grounder", null, "birds", 1,
            new TrainingRecipe(FineTuneMethod.Sft, 10, 1e-5, 1, 5, 0, ImmutableDictionary<string, string>.Empty), 100);
        var status = new FineTuneJobStatus("acme/job-1", state, FineTuneMethod.Sft, 2, null, null, "acme/jobs/job-1/ck",
            "Waiting for storage: attempt 1 stopped because the artifact store is unavailable.", null, null,
            DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, [], request);

        var dto = Mapping.Job(status);

        Assert.Equal(wire, dto.State);
        Assert.Equal("job-1", dto.JobId);
        Assert.Equal(status.StatusMessage, dto.StatusMessage);
    }
}
