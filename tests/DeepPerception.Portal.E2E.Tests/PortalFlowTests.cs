using System.IO.Compression;
using System.Text.RegularExpressions;
using DeepPerception.Data.Synth;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace DeepPerception.Portal.E2E.Tests;

/// <summary>
/// The portal in a real headless chromium against the one-process host: a tenant's whole journey, and the admin's
/// drain flow. Every step saves a screenshot under <c>TestResults/screenshots</c>.
/// </summary>
[Collection(PortalCollection.Name)]
public sealed class PortalFlowTests(PortalFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan WorkTimeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task Sign_in_upload_train_watch_evaluate_play_and_see_the_leaderboard()
    {
        var page = await fixture.NewPageAsync();
        try
        {
            await SignInAsync(page, "/");
            await SwitchTenantAsync(page, "demo");
            await ShotAsync(page, "flow-01-overview");

            // Upload a small KVG-Synth dataset (platform format, zipped) into a new dataset.
            var zip = BuildSynthZip(samples: 6);
            await GoAsync(page, "/datasets");
            await FillAsync(page, "new-dataset-id", "e2e-synth");
            await FillAsync(page, "new-dataset-name", "E2E KVG-Synth");
            await page.ClickAsync("#create-dataset");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/datasets/e2e-synth")); // client-side navigation: poll the address
            await RetryUntilVisibleAsync(page, () => page.Locator("#upload-files").SetInputFilesAsync(zip), "#start-upload");
            await page.ClickAsync("#start-upload");
            await Expect(page.Locator("#upload-result")).ToContainTextAsync("Version 1 created", new() { Timeout = 120_000 });
            await Expect(page.Locator("#upload-result")).ToContainTextAsync("6 of 6 records accepted");
            await ShotAsync(page, "flow-02-upload-validated");
            await page.GetByRole(AriaRole.Tab, new() { Name = "Gallery" }).ClickAsync();
            await Expect(page.Locator("#gallery .dp-sample")).ToHaveCountAsync(6);
            await Expect(page.Locator("#gallery rect.dp-box-true")).ToHaveCountAsync(6);
            await AssertNoSidewaysScrollAsync(page);
            await ShotAsync(page, "flow-03-gallery-with-boxes");
            await page.GetByRole(AriaRole.Tab, new() { Name = "Knowledge" }).ClickAsync();
            await Expect(page.Locator(".mud-table-body tr").First).ToBeVisibleAsync();
            await ShotAsync(page, "flow-04-knowledge");

            // Train with the quick preset (the wizard's default) and watch the job.
            await GoAsync(page, "/training");
            await Expect(page.Locator("#wizard-estimate")).ToContainTextAsync("GPU-seconds");
            await ShotAsync(page, "flow-05-training-wizard");
            await page.ClickAsync("#start-training");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/training/jobs/")); // client-side navigation: poll the address
            await Expect(page.Locator("#job-status")).ToBeVisibleAsync();
            await ShotAsync(page, "flow-06-job-queued");
            await Expect(page.Locator(".dp-state")).ToHaveAttributeAsync("data-state", "succeeded", new() { Timeout = (float)WorkTimeout.TotalMilliseconds });
            await Expect(page.Locator("#job-result")).ToContainTextAsync("version 1");
            await Expect(page.Locator(".mud-chart svg").First).ToBeVisibleAsync();
            await ShotAsync(page, "flow-07-job-succeeded-with-charts");

            // Evaluate the new version on a small generated KVG-Synth split.
            await GoAsync(page, "/evaluations");
            await FillAsync(page, "evaluation-items", "4");
            await page.ClickAsync("#start-evaluation");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/evaluations/ev-")); // client-side navigation: poll the address
            await ShotAsync(page, "flow-08-evaluation-running");
            await Expect(page.Locator("#evaluation-summary")).ToBeVisibleAsync(new() { Timeout = (float)WorkTimeout.TotalMilliseconds });
            await Expect(page.Locator(".dp-per-domain tbody tr").First).ToBeVisibleAsync();
            await Expect(page.Locator("#confusion-matrix")).ToBeVisibleAsync();
            // The entity × entity matrix of the first domain: a row per true entity, one cell on its diagonal each.
            await Expect(page.Locator(".dp-entity-cm table")).ToBeVisibleAsync();
            Assert.True(await page.Locator(".dp-entity-cm tbody tr").CountAsync() >= 1);
            await Expect(page.Locator(".dp-entity-cm-summary")).ToContainTextAsync("correct (the diagonal)");
            await AssertNoSidewaysScrollAsync(page);
            await ShotAsync(page, "flow-09-evaluation-report");

            // Playground: pick a dataset image, ground its entity, see the reasoning and the answer.
            await GoAsync(page, "/playground");
            await page.Locator("#playground-picks img.dp-pick").First.ClickAsync();
            await page.ClickAsync("#playground-ground");
            await Expect(page.Locator("#playground-result")).ToBeVisibleAsync(new() { Timeout = 120_000 });
            Assert.False(string.IsNullOrWhiteSpace(await page.Locator("#playground-reasoning").InnerTextAsync()));
            await ShotAsync(page, "flow-10-playground");

            // Publish to a new board, wait for its run, and find it on the public leaderboard.
            await GoAsync(page, "/evaluations");
            await FillAsync(page, "leaderboard-new", "e2e-board");
            await page.ClickAsync("#submit-leaderboard");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("/evaluations/ev-")); // client-side navigation: poll the address
            await Expect(page.Locator("#evaluation-summary")).ToBeVisibleAsync(new() { Timeout = (float)WorkTimeout.TotalMilliseconds });
            var anonymous = await fixture.NewPageAsync();
            await GoAsync(anonymous, "/leaderboard");
            await Expect(anonymous.Locator("tr.dp-published")).ToHaveCountAsync(4);
            await Expect(anonymous.Locator("tr[data-row^='DeepPerception'] .dp-overall")).ToHaveTextAsync("62.20");
            await Expect(anonymous.Locator("tr[data-row^='DeepPerception'] .dp-overall")).ToBeInViewportAsync(); // 1280×800 shows the whole layout
            await Expect(anonymous.Locator("tr.dp-platform")).ToHaveCountAsync(1);
            await Expect(anonymous.Locator("tr.dp-platform")).ToContainTextAsync("demo/tiny-grounder v1");
            await ShotAsync(anonymous, "flow-11-public-leaderboard");
            var phone = await fixture.NewPageAsync(390, 844);
            await GoAsync(phone, "/leaderboard");
            await AssertNoSidewaysScrollAsync(phone); // the KVG-Bench table scrolls inside its own box
            await ShotAsync(phone, "flow-12-leaderboard-phone");
        }
        catch
        {
            await ShotAsync(page, "flow-failure");
            output.WriteLine(fixture.Host.Tail(80));
            throw;
        }
    }

    [Fact]
    public async Task Admin_drains_and_undrains_the_GPU_silo()
    {
        var page = await fixture.NewPageAsync();
        try
        {
            await SignInAsync(page, "/admin");
            await Expect(page.Locator("#silos tbody tr")).ToHaveCountAsync(1);
            await Expect(page.Locator("#silos")).ToContainTextAsync("alive");
            await Expect(page.Locator("#silos")).ToContainTextAsync("accepts work");
            await Expect(page.GetByRole(AriaRole.Link, new() { Name = "Orleans Dashboard" })).ToHaveAttributeAsync("href", "/dashboard");
            await ShotAsync(page, "admin-01-silos");

            await page.Locator("#silos .dp-drain").ClickAsync();
            await Expect(page.Locator("#admin-notice")).ToContainTextAsync("is draining");
            await Expect(page.Locator("#silos .dp-draining")).ToBeVisibleAsync();
            await Expect(page.Locator("#silos")).Not.ToContainTextAsync("accepts work");
            await ShotAsync(page, "admin-02-drained");

            await page.Locator("#silos .dp-undrain").ClickAsync();
            await Expect(page.Locator("#silos")).ToContainTextAsync("accepts work");
            await Expect(page.Locator("#silos .dp-draining")).ToHaveCountAsync(0);
            await ShotAsync(page, "admin-03-undrained");
            await Expect(page.Locator("#tenants")).ToContainTextAsync("demo");
        }
        catch
        {
            await ShotAsync(page, "admin-failure");
            output.WriteLine(fixture.Host.Tail(80));
            throw;
        }
    }

    [Fact]
    public async Task Every_page_fits_a_phone_width_screen()
    {
        var page = await fixture.NewPageAsync(390, 844);
        try
        {
            await SignInAsync(page, "/");
            await SwitchTenantAsync(page, "demo");
            foreach (var (path, name) in new[]
                     {
                         ("/", "overview"), ("/datasets", "datasets"), ("/datasets/kvg-synth", "dataset"), ("/training", "training"),
                         ("/models", "models"), ("/playground", "playground"), ("/evaluations", "evaluations"), ("/admin", "admin"),
                         ("/leaderboard", "leaderboard"),
                     })
            {
                await GoAsync(page, path);
                await Expect(page.Locator("h1, h3, h4, h5").First).ToBeVisibleAsync();
                await AssertNoSidewaysScrollAsync(page);
                await ShotAsync(page, $"phone-{name}");
            }
        }
        catch
        {
            await ShotAsync(page, "phone-failure");
            output.WriteLine(fixture.Host.Tail(80));
            throw;
        }
    }

    [Fact]
    public async Task A_wrong_key_is_refused_with_what_to_do_and_private_pages_ask_for_sign_in()
    {
        var page = await fixture.NewPageAsync(390, 844);
        await GoAsync(page, "/datasets");
        await Expect(page.GetByText("Sign in to continue")).ToBeVisibleAsync();
        await page.GotoAsync("/signin"); // a static page: it posts the key as a plain form
        await page.FillAsync("#apiKey", "dpk_demo_nokey_" + new string('0', 64));
        await page.ClickAsync("#signin");
        await Expect(page.Locator(".dp-error")).ToContainTextAsync("not valid");
        await Expect(page.Locator(".dp-error")).ToContainTextAsync("ask a tenant admin");
        await ShotAsync(page, "signin-refused-phone");
    }

    /// <summary>The page fits the window's width (wide tables scroll inside their own box, not the page).</summary>
    private static async Task AssertNoSidewaysScrollAsync(IPage page)
    {
        var overflow = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth - window.innerWidth");
        Assert.True(overflow <= 0, $"The page at {page.Url} is {overflow} px wider than the window.");
    }

    private static ILocatorAssertions Expect(ILocator locator) => Assertions.Expect(locator);

    private async Task SignInAsync(IPage page, string returnUrl)
    {
        await page.GotoAsync("/signin?returnUrl=" + Uri.EscapeDataString(returnUrl));
        await page.FillAsync("#apiKey", fixture.Host.AdminKey);
        await ShotAsync(page, "signin");
        await page.ClickAsync("#signin");
        // Polls the address rather than waiting for a navigation event: the redirect after sign-in may land before or
        // after this call starts, as a full load or as Blazor's enhanced navigation.
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("^[^?#]*//[^/]+" + Regex.Escape(returnUrl) + "([?#].*)?$"), new() { Timeout = 90_000 });
        await WaitInteractiveAsync(page);
    }

    private static async Task SwitchTenantAsync(IPage page, string tenantId)
    {
        await page.FillAsync("input[name=tenantId]", tenantId);
        await page.Locator(".dp-tenant-switch button").ClickAsync();
        await Expect(page.Locator(".dp-tenant-chip")).ToContainTextAsync($"{tenantId} · platform admin");
        await WaitInteractiveAsync(page);
    }

    private static async Task GoAsync(IPage page, string path)
    {
        await page.GotoAsync(path);
        await WaitInteractiveAsync(page);
    }

    /// <summary>
    /// Repeats <paramref name="action"/> until <paramref name="selector"/> shows: an input event sent before a freshly
    /// rendered component has attached its handlers is lost, so a busy machine may need a second try on a reloaded page.
    /// </summary>
    private static async Task RetryUntilVisibleAsync(IPage page, Func<Task> action, string selector)
    {
        for (var attempt = 1; ; attempt++)
        {
            await action();
            try
            {
                await page.Locator(selector).WaitForAsync(new() { State = WaitForSelectorState.Visible, Timeout = 15_000 });
                return;
            }
            catch (TimeoutException) when (attempt < 4)
            {
                // Start over on a freshly loaded page (a new circuit) before the next try.
                await page.ReloadAsync();
                await WaitInteractiveAsync(page);
            }
        }
    }

    /// <summary>Clicks on the prerendered page are lost until the circuit is up; the layout marks the body then.</summary>
    private static Task WaitInteractiveAsync(IPage page) =>
        page.WaitForSelectorAsync("body[data-interactive=true]", new() { State = WaitForSelectorState.Attached, Timeout = 90_000 });

    private static async Task FillAsync(IPage page, string id, string value)
    {
        var input = page.Locator($"input#{id}, #{id} input").First;
        await input.FillAsync(value);
        await input.BlurAsync();
    }

    private async Task ShotAsync(IPage page, string name)
    {
        var path = Path.Combine(fixture.ScreenshotDirectory, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        output.WriteLine($"screenshot: {path}");
    }

    private static string BuildSynthZip(int samples)
    {
        var world = SynthWorld.Create(0);
        var split = SynthSplits.Build(world, samples, 1, seed: 7);
        var folder = Path.Combine(Path.GetTempPath(), $"dp-e2e-synth-{Guid.NewGuid():N}");
        SynthExporter.ExportPlatform(split.Train, world.Knowledge, folder);
        var zip = folder + ".zip";
        ZipFile.CreateFromDirectory(folder, zip);
        Directory.Delete(folder, recursive: true);
        return zip;
    }
}
