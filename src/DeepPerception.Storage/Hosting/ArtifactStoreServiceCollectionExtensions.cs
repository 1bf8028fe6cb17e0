using DeepPerception.Storage;
using DeepPerception.Storage.AzureBlob;
using DeepPerception.Storage.FileSystem;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers an <see cref="IArtifactStore"/> adapter.</summary>
public static class ArtifactStoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="FileSystemArtifactStore"/> as the <see cref="IArtifactStore"/> singleton; the options are
    /// validated when the host starts.
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
        services.AddSingleton<IArtifactStore>(sp => new FileSystemArtifactStore(
            sp.GetRequiredService<IOptions<FileSystemArtifactStoreOptions>>().Value,
            sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    /// <summary>
    /// Registers <see cref="AzureBlobArtifactStore"/> as the <see cref="IArtifactStore"/> singleton; the options are
    /// validated when the host starts.
    /// </summary>
    public static IServiceCollection AddAzureBlobArtifactStore(this IServiceCollection services,
        Action<AzureBlobArtifactStoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddOptions<AzureBlobArtifactStoreOptions>().Configure(configure).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AzureBlobArtifactStoreOptions>,
            AzureBlobArtifactStoreOptionsValidator>());
        services.AddSingleton<IArtifactStore>(sp =>
            new AzureBlobArtifactStore(sp.GetRequiredService<IOptions<AzureBlobArtifactStoreOptions>>().Value));
        return services;
    }
}
