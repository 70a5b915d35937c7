namespace Azure.LinuxImage.Engine.Validation;

/// <summary>Runs every validation rule family on a produced image.</summary>
public static class ImageValidator
{
    public static IReadOnlyList<RuleOutcome> Validate(string imagePath)
    {
        var outcomes = new List<RuleOutcome>(DiskRules.Check(imagePath));
        return outcomes;
    }
}
