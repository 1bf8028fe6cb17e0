using DeepPerception.Storage;
using DeepPerception.Storage.AzureBlob;
using DeepPerception.Storage.FileSystem;
using DeepPerception.Storage.Resilience;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers an <see cref="IArtifactStore"/> adapter.</summary>
public static class ArtifactStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="FileSystemArtifactStore"/> as the <see cref="IArtifactStore"/> singleton, wrapped in
    /// <see cref="RetryingArtifactStore"/> unless retries are turned off (<see cref="ConfigureArtifactStoreRetries"/>);
    /// the options are validated when the host starts.
    /// </summary>
    public static IServiceCollection AddFileSystemArtifactStore(this IServiceCollection services,
        Action<FileSystemArtifactStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<FileSystemArtifactStoreOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<FileSystemArtifactStoreOptions>,
            FileSystemArtifactStoreOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        AddRetryOptions(services);
        services.AddSingleton<IArtifactStore>(sp => WithRetries(sp, new FileSystemArtifactStore(
            sp.GetRequiredService<IOptions<FileSystemArtifactStoreOptions>>().Value,
            sp.GetRequiredService<TimeProvider>())));
        return services;
    }

    /// <summary>
    /// Registers <see cref="AzureBlobArtifactStore"/> as the <see cref="IArtifactStore"/> singleton, wrapped in
    /// <see cref="RetryingArtifactStore"/> unless retries are turned off (<see cref="ConfigureArtifactStoreRetries"/>);
    /// the options are validated when the host starts.
    /// </summary>
    public static IServiceCollection AddAzureBlobArtifactStore(this IServiceCollection services,
        Action<AzureBlobArtifactStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<AzureBlobArtifactStoreOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AzureBlobArtifactStoreOptions>,
            AzureBlobArtifactStoreOptionsValidator>());
        AddRetryOptions(services);
        services.AddSingleton<IArtifactStore>(sp => WithRetries(sp,
            new AzureBlobArtifactStore(sp.GetRequiredService<IOptions<AzureBlobArtifactStoreOptions>>().Value)));
        return services;
    }

    /// <summary>
    /// Configures the retries of the registered artifact store (<see cref="RetryingArtifactStore"/>, on by default for
    /// both adapters): attempts, backoff and the time bound; <see cref="ArtifactStoreRetryOptions.Enabled"/> = false
    /// registers the bare adapter.
    /// </summary>
    public static IServiceCollection ConfigureArtifactStoreRetries(this IServiceCollection services,
        Action<ArtifactStoreRetryOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        AddRetryOptions(services);
        services.Configure(configure);
        return services;
    }

    private static void AddRetryOptions(IServiceCollection services)
    {
        services.AddOptions<ArtifactStoreRetryOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ArtifactStoreRetryOptions>,
            ArtifactStoreRetryOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
    }

    private static IArtifactStore WithRetries(IServiceProvider services, IArtifactStore store)
    {
        var options = services.GetRequiredService<IOptions<ArtifactStoreRetryOptions>>().Value;
        return options.Enabled
            ? new RetryingArtifactStore(store, options, services.GetRequiredService<TimeProvider>())
            : store;
    }
}
