using System.Runtime.InteropServices;

namespace DeepPerception.ML.Runtime;

/// <summary>
/// Keeps freed native memory in the process instead of handing it back to the kernel after every tensor. With glibc's
/// defaults every allocation above the dynamic mmap threshold (128 KiB up to 32 MiB) is a fresh mapping and large frees
/// trim the heap, so activations, KV caches and image inputs page-fault on every step; on virtual machines a fault costs
/// tens of microseconds (measured: copying 38 MB of image rows into a new tensor took 100–300 ms instead of 3 ms). This
/// is the CPU counterpart of a GPU caching allocator: allocations up to 32 MiB come from the heap and freed memory is kept
/// for the next step. The setting is process-wide and applied once, by the first <see cref="DeviceWorker"/>; set
/// <c>DEEPPERCEPTION_MALLOC_DEFAULTS=1</c> to keep glibc's defaults.
/// </summary>
public static partial class NativeHeap
{
    private const int TrimThreshold = -1;
    private const int MmapThreshold = -3;
    private static int _applied;

    /// <summary>Largest allocation served from the heap (glibc's upper limit on 64-bit systems).</summary>
    public const int HeapAllocationLimit = 32 * 1024 * 1024;

    /// <summary>Free memory at the top of the heap kept before trimming.</summary>
    public const int KeptFreeBytes = 1024 * 1024 * 1024;

    /// <summary>Whether the allocator settings are in force in this process.</summary>
    public static bool IsTuned { get; private set; }

    /// <summary>
    /// Applies the settings once per process on Linux with glibc (a no-op elsewhere, when opted out, or when already
    /// done). Returns whether they are in force.
    /// </summary>
    public static bool KeepFreedMemory()
    {
        if (Interlocked.Exchange(ref _applied, 1) == 1)
        {
            return IsTuned;
        }

        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable("DEEPPERCEPTION_MALLOC_DEFAULTS") == "1")
        {
            return false;
        }

        try
        {
            // mallopt returns 1 on success. Setting the mmap threshold also turns off glibc's dynamic adjustment.
            IsTuned = MallOpt(MmapThreshold, HeapAllocationLimit) == 1 && MallOpt(TrimThreshold, KeptFreeBytes) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (for example musl): leave the allocator as it is.
            IsTuned = false;
        }

        return IsTuned;
    }

    [LibraryImport("libc", EntryPoint = "mallopt")]
    private static partial int MallOpt(int parameter, int value);
}
