// Each test starts the storage emulator and several host processes; running them one at a time keeps them off each
// other's cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
