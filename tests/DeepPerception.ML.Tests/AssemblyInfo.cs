// Several tests seed and draw from TorchSharp's global random generator (LoRA initialisation, sampling); running
// them in parallel would interleave their draws and make results depend on scheduling.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
