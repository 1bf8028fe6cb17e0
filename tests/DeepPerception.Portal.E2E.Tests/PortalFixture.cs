using Microsoft.Playwright;

namespace DeepPerception.Portal.E2E.Tests;

/// <summary>One host process and one headless Debian chromium (driven by Playwright) shared by the browser tests.</summary>
public sealed class PortalFixture : IAsyncLifetime
{
    /// <summary>Debian's chromium; no browser is downloaded.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    /// <summary>The running host.</summary>
    public HostProcess Host { get; private set; } = default!;

    /// <summary>The browser.</summary>
    public IBrowser Browser { get; private set; } = default!;

    /// <summary>Where screenshots go: <c>TestResults/screenshots</c> under the test output folder.</summary>
    public string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "TestResults", "screenshots");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: install it with 'apt-get install -y chromium' (tools/test.sh does).");
        }

        Directory.CreateDirectory(ScreenshotDirectory);
        Assertions.SetDefaultExpectTimeout(30_000); // assertions poll; a busy machine renders slowly
        Host = await HostProcess.StartAsync(TimeSpan.FromMinutes(3));
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    /// <summary>A fresh browser context (own cookies) with a page of the given size.</summary>
    public async Task<IPage> NewPageAsync(int width = 1280, int height = 800)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height }, BaseURL = Host.BaseUrl });
        context.SetDefaultTimeout(60_000); // the test machine may be busy with other builds
        return await context.NewPageAsync();
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }
    }
}

/// <summary>The browser tests share one host.</summary>
[CollectionDefinition(Name)]
public sealed class PortalCollection : ICollectionFixture<PortalFixture>
{
    /// <summary>The collection name.</summary>
    public const string Name = "portal";
}
