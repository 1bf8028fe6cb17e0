namespace DeepPerception.Portal.Data;

/// <summary>A box to draw over an image.</summary>
/// <param name="X1">Left.</param>
/// <param name="Y1">Top.</param>
/// <param name="X2">Right.</param>
/// <param name="Y2">Bottom.</param>
/// <param name="Kind">"true" (the annotation) or "predicted" (the model's answer).</param>
/// <param name="Label">A tooltip.</param>
public sealed record DrawnBox(double X1, double Y1, double X2, double Y2, string Kind, string Label)
{
    /// <summary>The CSS class of the kind.</summary>
    public string CssClass => Kind == "predicted" ? "dp-box-pred" : "dp-box-true";
}
