extern alias cli;

using cli::DeepPerception.Cli.Commands;
using cli::DeepPerception.Cli.Infrastructure;

namespace DeepPerception.Api.Tests;

/// <summary>The CLI's remote mode grounds through the HTTP API with the typed client.</summary>
[Collection("api")]
public sealed class RemoteCliTests(ApiHostFixture host)
{
    [Fact]
    public async Task Remote_ground_prints_the_answer_and_reports_server_errors()
    {
        var image = Path.Combine(Path.GetTempPath(), $"dp-remote-{Guid.NewGuid():N}.png");
        await File.WriteAllBytesAsync(image, ApiHostFixture.Png(64, 48));
        try
        {
            var command = new RemoteGroundCommand(() => host.Factory.Server.CreateHandler());
            async Task<(int Code, string Out, string Err)> Run(params string[] args)
            {
                using var stdout = new StringWriter();
                using var stderr = new StringWriter();
                var code = await command.RunAsync(CliArguments.Parse(args, command.Options), new CliContext(stdout, stderr), CancellationToken.None);
                return (code, stdout.ToString(), stderr.ToString());
            }

            var server = host.Factory.Server.BaseAddress.ToString();
            var plain = await Run("--server", server, "--api-key", host.DemoAdmin, "--model", "tiny-grounder", "--image", image,
                "--query", "the Glimmer Finch", "--max-new-tokens", "6");
            Assert.Equal(0, plain.Code);
            Assert.Contains("parse: ", plain.Out, StringComparison.Ordinal);

            var json = await Run("--server", server, "--api-key", host.DemoAdmin, "--model", "tiny-grounder", "--image", image,
                "--query", "the Glimmer Finch", "--max-new-tokens", "6", "--stream", "--json");
            Assert.Equal(0, json.Code);
            Assert.Contains("\"imageWidth\":64", json.Out, StringComparison.Ordinal);

            var foreign = await Run("--server", server, "--api-key", host.BetaMember, "--model", "tiny-grounder", "--image", image, "--query", "x");
            Assert.Equal(1, foreign.Code);
            Assert.Contains("404", foreign.Err, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(image);
        }
    }
}
