using Orleans.Placement;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.Runtime.Placement;

namespace DeepPerception.Grains.Hosting;

/// <summary>Placement filter that keeps only silos whose metadata role includes "gpu".</summary>
public sealed class GpuOnlyFilterStrategy() : PlacementFilterStrategy(0);

/// <summary>
/// Restricts a grain to GPU silos. With no GPU silo the activation fails instead of landing elsewhere, which is why
/// the scheduler only dispatches to registered, healthy GPU silos.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class GpuOnlyAttribute() : PlacementFilterAttribute(new GpuOnlyFilterStrategy());

/// <summary>Applies <see cref="GpuOnlyFilterStrategy"/> using the silo metadata cache.</summary>
public sealed class GpuOnlyFilterDirector(ISiloMetadataCache metadata) : IPlacementFilterDirector
{
    /// <inheritdoc />
    public IEnumerable<SiloAddress> Filter(PlacementFilterStrategy filterStrategy, PlacementTarget target,
        IEnumerable<SiloAddress> silos) =>
        silos.Where(s => SiloRoles.HasRole(metadata, s, SiloRoles.Gpu));
}

/// <summary>Placement filter that prefers silos whose role includes "control".</summary>
public sealed class ControlPlaneFilterStrategy() : PlacementFilterStrategy(0);

/// <summary>
/// Keeps control-plane grains off GPU-only silos, so losing a GPU silo never takes the scheduler or a job's state
/// machine with it. When no silo is known to have the control role, silos not known as GPU silos are preferred, and
/// every silo is allowed when there is no other.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class ControlPlaneAttribute() : PlacementFilterAttribute(new ControlPlaneFilterStrategy());

/// <summary>Applies <see cref="ControlPlaneFilterStrategy"/> using the silo metadata cache.</summary>
public sealed class ControlPlaneFilterDirector(ISiloMetadataCache metadata) : IPlacementFilterDirector
{
    /// <inheritdoc />
    public IEnumerable<SiloAddress> Filter(PlacementFilterStrategy filterStrategy, PlacementTarget target,
        IEnumerable<SiloAddress> silos)
    {
        var all = silos.ToList();
        var control = all.Where(s => SiloRoles.HasRole(metadata, s, SiloRoles.Control)).ToList();
        if (control.Count > 0)
        {
            return control;
        }

        // No control silo known (yet): at least keep off silos known to be GPU silos.
        var notGpu = all.Where(s => !SiloRoles.HasRole(metadata, s, SiloRoles.Gpu)).ToList();
        return notGpu.Count > 0 ? notGpu : all;
    }
}
