using TorchSharp;
using static TorchSharp.torch;

namespace DeepPerception.ML.Runtime;

/// <summary>
/// Additions whose <c>alpha</c> scalar outlives the native call. TorchSharp's <c>add(Tensor)</c>, <c>add(Scalar)</c>
/// and <c>add_(…)</c> pass a temporary <see cref="Scalar"/> 1 as <c>alpha</c> and keep no reference to it once its
/// handle is read, so a garbage collection during the call may finalize it and libtorch then reads a freed scalar
/// ("toFloat at c10/core/Scalar.h"). These overloads pass one process-wide scalar instead, rooted in a static field.
/// </summary>
public static class TensorArithmetic
{
    private static readonly Scalar One = 1.ToScalar();

    /// <summary><c>a + b</c>.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary><c>a + b</c> for a scalar <paramref name="b"/> (which the caller keeps alive through the call).</summary>
    public static Tensor Plus(this Tensor a, Scalar b) => a.add(b, One);

    /// <summary><c>a += b</c> in place.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => a.add_(b, One);

    /// <summary><c>a += b</c> in place for a scalar <paramref name="b"/> (which the caller keeps alive through the call).</summary>
    public static Tensor PlusInPlace(this Tensor a, Scalar b) => a.add_(b, One);

    /// <summary><c>a.index_add(dim, index, source)</c> with alpha 1.</summary>
    public static Tensor IndexPlus(this Tensor a, long dim, Tensor index, Tensor source) => a.index_add(dim, index, source, One);
}
