// The cluster tests start several in-process clusters; running them one at a time keeps them off each other's cores.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
