using DeepPerception.Kvg;

namespace DeepPerception.Core.Tests.Kvg;

/// <summary><c>torchvision.ops.box_iou</c> semantics on float32.</summary>
public sealed class BoxMathTests
{
    private static readonly BoundingBox Unit = new(0, 0, 100, 100);

    [Fact]
    public void Identical_boxes_have_iou_1()
    {
        Assert.Equal(1.0, BoxMath.Iou(Unit, Unit));
    }

    [Fact]
    public void Disjoint_and_touching_boxes_have_iou_0()
    {
        Assert.Equal(0.0, BoxMath.Iou(Unit, new BoundingBox(200, 200, 300, 300)));
        Assert.Equal(0.0, BoxMath.Iou(Unit, new BoundingBox(100, 0, 200, 100)));
    }

    [Fact]
    public void Contained_and_partial_overlaps()
    {
        Assert.Equal(0.25, BoxMath.Iou(Unit, new BoundingBox(0, 0, 50, 50)));

        // inter 1, union 4 + 4 - 1 = 7.
        Assert.Equal((double)(1f / 7f), BoxMath.Iou(new BoundingBox(0, 0, 2, 2), new BoundingBox(1, 1, 3, 3)));
    }

    [Fact]
    public void Result_is_rounded_to_float32()
    {
        var iou = BoxMath.Iou(new BoundingBox(0, 0, 3, 3), new BoundingBox(0, 0, 3, 1));
        Assert.Equal((double)(1f / 3f), iou);
        Assert.NotEqual(1.0 / 3.0, iou);
        Assert.Equal(1.0 / 3.0, BoxMath.IouDouble(new BoundingBox(0, 0, 3, 3), new BoundingBox(0, 0, 3, 1)), 15);
    }

    [Fact]
    public void Coordinates_are_rounded_to_float32_first()
    {
        var nearly = new BoundingBox(0, 0, 100.000001, 100);
        Assert.Equal(1.0, BoxMath.Iou(Unit, nearly));
        Assert.True(BoxMath.IouDouble(Unit, nearly) < 1.0);
    }

    [Fact]
    public void Zero_area_boxes_give_nan_which_max_iou_counts_as_zero()
    {
        var point = new BoundingBox(5, 5, 5, 5);
        Assert.True(double.IsNaN(BoxMath.Iou(point, point)));
        Assert.Equal(0.0, BoxMath.MaxIou(point, [point]));
    }

    [Fact]
    public void Zero_prediction_against_a_real_box_is_zero()
    {
        Assert.Equal(0.0, BoxMath.Iou(new BoundingBox(0, 0, 0, 0), Unit));
    }

    [Fact]
    public void Areas_are_not_clamped_for_inverted_boxes()
    {
        // Fully inverted: area (-100)*(-100) = +10000, the intersection is 0, so IoU = 0 / 20000 = 0.
        Assert.Equal(0.0, BoxMath.Iou(new BoundingBox(100, 100, 0, 0), Unit));

        // Inverted in x only: area1 = -10000, area2 = 10000, inter = 0, union = 0 -> NaN -> counts as 0.
        var flipped = new BoundingBox(100, 0, 0, 100);
        Assert.True(double.IsNaN(BoxMath.Iou(flipped, Unit)));
        Assert.Equal(0.0, BoxMath.MaxIou(flipped, [Unit]));

        // Inverted in y only: area2 = 50 * (-50) = -2500, inter 0, union 2500 - 2500 - 0 = 0 -> NaN.
        Assert.True(double.IsNaN(BoxMath.Iou(new BoundingBox(0, 0, 50, 50), new BoundingBox(0, 50, 50, 0))));
    }

    [Fact]
    public void Nan_coordinates_give_nan_iou_and_zero_score()
    {
        var bad = new BoundingBox(double.NaN, 0, 10, 10);
        Assert.True(double.IsNaN(BoxMath.Iou(bad, Unit)));
        Assert.Equal(0.0, BoxMath.MaxIou(bad, [Unit]));
    }

    [Fact]
    public void Max_iou_takes_the_best_ground_truth()
    {
        var pred = new BoundingBox(0, 0, 50, 50);
        Assert.Equal(1.0, BoxMath.MaxIou(pred, [Unit, pred]));
        Assert.Equal(0.25, BoxMath.MaxIou(pred, [new BoundingBox(500, 500, 600, 600), Unit]));
    }

    [Fact]
    public void Bounding_box_helpers()
    {
        Assert.Equal(new BoundingBox(1, 2, 3, 4), new BoundingBox(3, 4, 1, 2).Normalized());
        Assert.False(new BoundingBox(double.PositiveInfinity, 0, 1, 1).IsFinite);
        Assert.Equal([1.0, 2, 3, 4], new BoundingBox(1, 2, 3, 4).ToArray());
    }
}
