// One in-process platform host is shared by all tests; they run one at a time.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

// The platform runs on Linux (file modes of the bootstrap key are checked).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
