using System.Net;
using DeepPerception.Client;
using DeepPerception.Kvg;

namespace DeepPerception.Api.Tests;

[Collection("api")]
public sealed class RolloutTests(ApiHostFixture host)
{
    [Fact]
    public async Task A_grpo_job_exposes_its_rollouts_with_boxes_and_prompt_images_to_its_own_tenant_only()
    {
        await DemoWorkRunner.EnsureAsync(host);
        var client = host.Client(host.DemoAdmin);
        var recipe = new RecipeBody("grpo", "lora", LoraRank: 2, MaxSteps: 2, LearningRate: 1e-3, BatchSize: 2, CheckpointEvery: 2, Seed: 3,
            Settings: new Dictionary<string, string> { ["max_pixels"] = "12544", ["generations"] = "2", ["max_completion_length"] = "6" });
        var job = await client.CreateFineTuneAsync(new CreateFineTuneBody(DemoWorkRunner.Model, "kvg-synth", 1, recipe, JobId: "grpo-gallery"));
        job = await ApiHostFixture.WaitAsync(() => client.GetFineTuneAsync(job.JobId), j => j.State is "succeeded" or "failed" or "cancelled", "the GRPO job");
        Assert.True(job.State == "succeeded", $"{job.State}: {job.StatusMessage} {job.Error}");

        var rollouts = await client.GetRolloutsAsync(job.JobId);
        Assert.Equal(job.JobId, rollouts.JobId);
        Assert.NotNull(rollouts.Rollouts);
        Assert.Equal(2 * 2 * 2, rollouts.Rollouts.Count); // 2 steps x 2 prompts x 2 generations
        Assert.Equal([2, 2, 2, 2, 1, 1, 1, 1], rollouts.Rollouts.Select(r => r.Step).ToList());
        Assert.Equal(4, (await client.GetRolloutsAsync(job.JobId, steps: 1)).Rollouts!.Count);
        foreach (var r in rollouts.Rollouts)
        {
            Assert.False(string.IsNullOrEmpty(r.Entity));
            Assert.Equal(["accuracy", "format"], r.Rewards.Keys.Order(StringComparer.Ordinal).ToList());
            Assert.Equal(r.Rewards.Values.Sum(), r.Total, 9);
            Assert.True(r.True.X2 > r.True.X1 && r.True.Y2 > r.True.Y1, $"true box {r.True}");
            Assert.Equal(KvgAnswerParser.Parse(r.Completion).IsFailure, r.Predicted is null);
            Assert.StartsWith($"/v1/fine-tunes/{job.JobId}/rollouts/images/", r.ImageUrl, StringComparison.Ordinal);
        }

        var imageId = rollouts.Rollouts[0].ImageUrl[(rollouts.Rollouts[0].ImageUrl.LastIndexOf('/') + 1)..];
        var png = await client.GetRolloutImageAsync(job.JobId, imageId);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        using (var http = host.Http(host.DemoAdmin))
        {
            var response = await http.GetAsync(rollouts.Rollouts[0].ImageUrl);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/png", response.Content.Headers.ContentType?.MediaType);
        }

        var unknown = await Assert.ThrowsAsync<DeepPerceptionApiException>(() => client.GetRolloutImageAsync(job.JobId, "no-such-prompt"));
        Assert.Equal(HttpStatusCode.NotFound, unknown.Status);
        var malformed = await Assert.ThrowsAsync<DeepPerceptionApiException>(() => client.GetRolloutImageAsync(job.JobId, "..bad"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.Status);
        var tooMany = await Assert.ThrowsAsync<DeepPerceptionApiException>(() => client.GetRolloutsAsync(job.JobId, steps: 21));
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.Status);

        // Another tenant sees neither the rollouts nor the images.
        var foreign = host.Client(host.BetaAdmin);
        Assert.Equal(HttpStatusCode.NotFound, (await Assert.ThrowsAsync<DeepPerceptionApiException>(() => foreign.GetRolloutsAsync(job.JobId))).Status);
        Assert.Equal(HttpStatusCode.NotFound,
            (await Assert.ThrowsAsync<DeepPerceptionApiException>(() => foreign.GetRolloutImageAsync(job.JobId, imageId))).Status);

        // A job without a GRPO stage has no rollouts.
        var sftOnly = await client.GetRolloutsAsync((await DemoWorkRunner.EnsureAsync(host)).JobId);
        Assert.Empty(sftOnly.Rollouts!);
    }
}
