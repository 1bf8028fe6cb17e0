using System.Text.RegularExpressions;
using DeepPerception.Host;
using DeepPerception.Storage.Resilience;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Hosting.Kubernetes;

namespace DeepPerception.Host.Tests;

/// <summary>
/// What can be checked of the deployment without a cluster: the Kubernetes option selects Orleans' Kubernetes hosting,
/// the artifact-store retries bind from configuration, and the manifests under deploy/kubernetes and docker-compose.yml
/// have the structure the platform needs (a structural check: no YAML parser is referenced by the solution).
/// </summary>
public sealed class DeploymentTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), $"dp-host-deploy-tests-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    private static PlatformClusterOptions AzureControl(bool kubernetes) => new()
    {
        Roles = "control",
        Clustering = "azure",
        AzureStorageConnectionString = "UseDevelopmentStorage=true",
        Dashboard = false,
        Kubernetes = kubernetes,
    };

    private IServiceCollection SiloServices(PlatformClusterOptions cluster, params (string Key, string Value)[] settings)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        builder.AddPlatformSilo(new DeepPerceptionHostOptions { DataDirectory = _data, SeedDemo = false }, cluster);
        return builder.Services;
    }

    [Fact]
    public void The_kubernetes_option_adds_orleans_kubernetes_hosting_and_nothing_else_does()
    {
        var withKubernetes = SiloServices(AzureControl(kubernetes: true));
        var without = SiloServices(AzureControl(kubernetes: false));

        Assert.Contains(withKubernetes, d => d.ServiceType == typeof(IValidateOptions<KubernetesHostingOptions>));
        Assert.Contains(withKubernetes, d => d.ServiceType == typeof(IConfigureOptions<KubernetesHostingOptions>));
        Assert.DoesNotContain(without, d => d.ServiceType == typeof(IValidateOptions<KubernetesHostingOptions>));
        Assert.DoesNotContain(without, d => d.ServiceType == typeof(IConfigureOptions<KubernetesHostingOptions>));
    }

    [Fact]
    public void Kubernetes_hosting_needs_azure_clustering()
    {
        var options = new PlatformClusterOptions { Kubernetes = true };

        var error = Assert.Throws<InvalidPlatformConfigurationException>(options.Validate);

        Assert.Contains("Kubernetes=true needs Clustering=azure", error.Message);
        AzureControl(kubernetes: true).Validate();
    }

    [Fact]
    public void Storage_retry_settings_bind_from_configuration_and_reach_the_scheduler()
    {
        var cluster = AzureControl(kubernetes: false);
        cluster.StorageRetrySeconds = 5;
        cluster.StorageRetryMaxSeconds = 50;
        var services = SiloServices(cluster,
            ("DeepPerception:ArtifactStoreRetry:MaxAttempts", "9"),
            ("DeepPerception:ArtifactStoreRetry:InitialDelay", "00:00:02"));
        using var provider = services.BuildServiceProvider();

        var retry = provider.GetRequiredService<IOptions<ArtifactStoreRetryOptions>>().Value;
        Assert.Equal(9, retry.MaxAttempts);
        Assert.Equal(TimeSpan.FromSeconds(2), retry.InitialDelay);
        var silo = provider.GetRequiredService<IOptions<DeepPerception.Grains.Hosting.DeepPerceptionSiloOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(5), silo.StorageRetryDelay);
        Assert.Equal(TimeSpan.FromSeconds(50), silo.StorageRetryMaxDelay);
        Assert.Throws<InvalidPlatformConfigurationException>(() =>
            new PlatformClusterOptions { StorageRetrySeconds = 60, StorageRetryMaxSeconds = 10 }.Validate());
    }

    [Fact]
    public void Every_kubernetes_manifest_is_a_well_formed_object_list()
    {
        var files = Directory.GetFiles(Path.Combine(RepositoryRoot(), "deploy", "kubernetes"), "*.yaml");
        Assert.NotEmpty(files);
        var kinds = new List<string>();
        foreach (var file in files)
        {
            var text = File.ReadAllText(file);
            Assert.DoesNotContain('\t', text);
            foreach (var document in Documents(text))
            {
                var name = Path.GetFileName(file);
                Assert.Matches(new Regex(@"^apiVersion: \S+$", RegexOptions.Multiline), document);
                var kind = Regex.Match(document, @"^kind: (\w+)$", RegexOptions.Multiline);
                Assert.True(kind.Success, $"{name}: a document has no kind");
                kinds.Add(kind.Groups[1].Value);
                if (kind.Groups[1].Value != "Kustomization")
                {
                    Assert.Matches(new Regex(@"^metadata:\n  name: [a-z0-9-]+$", RegexOptions.Multiline), document);
                }

                if (kind.Groups[1].Value is not ("Namespace" or "Kustomization"))
                {
                    Assert.Contains("  namespace: deepperception", document);
                }
            }
        }

        foreach (var expected in new[] { "Namespace", "Secret", "ServiceAccount", "Role", "RoleBinding", "Deployment", "Service" })
        {
            Assert.Contains(expected, kinds);
        }

        Assert.Equal(4, kinds.Count(k => k == "Deployment")); // azurite, control silo, GPU silo, web
        var kustomization = File.ReadAllText(Path.Combine(RepositoryRoot(), "deploy", "kubernetes", "kustomization.yaml"));
        foreach (var file in files.Select(Path.GetFileName).Where(f => f != "kustomization.yaml"))
        {
            Assert.Contains($"  - {file}", kustomization);
        }
    }

    [Theory]
    [InlineData("control-silo.yaml", "control", false)]
    [InlineData("gpu-silo.yaml", "gpu", true)]
    public void Silo_deployments_carry_the_orleans_labels_pod_fields_and_kubernetes_hosting(string file, string role, bool gpu)
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), "deploy", "kubernetes", file));

        Assert.Contains("orleans/serviceId: deepperception", text);
        Assert.Contains("orleans/clusterId: deepperception-k8s", text);
        Assert.Contains("serviceAccountName: deepperception-silo", text);
        Assert.Contains($"- {{ name: DeepPerception__Roles, value: {role} }}", text);
        Assert.Contains("- { name: DeepPerception__Kubernetes, value: \"true\" }", text);
        Assert.Contains("- { name: DeepPerception__Clustering, value: azure }", text);
        Assert.Contains("- { name: ORLEANS_CLUSTER_ID, value: deepperception-k8s }", text);
        Assert.Contains("- { name: DeepPerception__ClusterId, value: deepperception-k8s }", text);
        foreach (var (variable, field) in new[] { ("POD_NAME", "metadata.name"), ("POD_NAMESPACE", "metadata.namespace"), ("POD_IP", "status.podIP") })
        {
            Assert.Matches(new Regex($@"- name: {variable}\n\s+valueFrom:\n\s+fieldRef: {{ fieldPath: {Regex.Escape(field)} }}"), text);
        }

        Assert.Equal(gpu, Regex.IsMatch(text, @"^\s+nvidia\.com/gpu: 1$", RegexOptions.Multiline));
        if (gpu)
        {
            Assert.Contains("# nodeSelector:", text);
            Assert.Contains("# tolerations:", text);
        }
    }

    [Fact]
    public void The_silos_role_may_watch_and_delete_pods()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), "deploy", "kubernetes", "rbac.yaml"));

        Assert.Contains("resources: [\"pods\"]", text);
        Assert.Contains("verbs: [\"get\", \"list\", \"watch\", \"delete\"]", text);
        Assert.Contains("kind: ServiceAccount\n    name: deepperception-silo", text);
    }

    [Fact]
    public void Compose_runs_a_web_host_and_reserves_gpus_only_under_the_gpu_profile()
    {
        var text = File.ReadAllText(Path.Combine(RepositoryRoot(), "docker-compose.yml"));
        var start = text.IndexOf("\nservices:\n", StringComparison.Ordinal);
        var end = text.IndexOf("\nvolumes:\n", StringComparison.Ordinal);
        Assert.True(start >= 0 && end > start, "docker-compose.yml needs a services and a volumes section");
        var services = Regex.Matches(text[start..end], @"^  ([a-z0-9-]+):\n", RegexOptions.Multiline).Select(m => m.Groups[1].Value).ToList();

        Assert.Equal(["azurite", "control", "gpu-1", "gpu-2", "gpu-1-cuda", "gpu-2-cuda", "web", "platform"], services);
        var web = Section(text, "  web:\n");
        Assert.Contains("dockerfile: deploy/docker/web.Dockerfile", web);
        Assert.Contains("DeepPerception__WebHost__Clustering: azure", web);
        Assert.True(File.Exists(Path.Combine(RepositoryRoot(), "deploy", "docker", "web.Dockerfile")));
        var cuda = Section(text, "x-gpu-silo-cuda: &gpu-silo-cuda\n");
        Assert.Contains("profiles: [\"gpu\"]", cuda);
        Assert.Contains("devices: [{ driver: nvidia, count: 1, capabilities: [gpu] }]", cuda);
        Assert.Single(Regex.Matches(text, "driver: nvidia"));
        Assert.Contains("<<: *gpu-silo-cuda", Section(text, "  gpu-1-cuda:\n"));
        Assert.Contains("<<: *gpu-silo\n", Section(text, "  gpu-1:\n"));
        Assert.Contains("not exercised by the tests", text, StringComparison.OrdinalIgnoreCase);
    }

    private static IEnumerable<string> Documents(string text) =>
        Regex.Split(text, @"^---$", RegexOptions.Multiline)
            .Select(d => string.Join('\n', d.Split('\n').Where(l => !l.TrimStart().StartsWith('#'))).Trim('\n'))
            .Where(d => d.Trim().Length > 0)
            .Select(d => d + "\n");

    private static string Section(string text, string header)
    {
        var start = text.IndexOf(header, StringComparison.Ordinal);
        Assert.True(start >= 0, $"'{header.Trim()}' is missing");
        // A top-level block ends at the next top-level line; a service ends at the next service or top-level line.
        var end = header.StartsWith(' ') ? @"^\S|^  [a-z0-9-]+:\n" : @"^\S";
        var next = Regex.Match(text[(start + header.Length)..], end, RegexOptions.Multiline);
        return next.Success ? text.Substring(start, header.Length + next.Index) : text[start..];
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "DeepPerception.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("The repository root (DeepPerception.sln) was not found.");
    }
}
