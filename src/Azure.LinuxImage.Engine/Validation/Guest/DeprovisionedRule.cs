using Azure.LinuxImage.Engine.Diagnostics;
using Azure.LinuxImage.Engine.Guest.Deprovision;

namespace Azure.LinuxImage.Engine.Validation.Guest;

/// <summary>R16: nothing of the build machine's identity is left (an error unless the project turned deprovisioning off).</summary>
public sealed class DeprovisionedRule : IGuestRule
{
    public IEnumerable<RuleOutcome> Check(GuestValidationContext context)
    {
        var leftovers = GuestDeprovisioner.Leftovers(context.FileSystem);
        if (leftovers.Count == 0)
        {
            yield return RuleOutcome.Pass("R16.deprovisioned", DiagnosticCatalog.NotDeprovisioned, "The image carries no machine identity.");
        }
        else if (context.Options.Patch.Deprovision)
        {
            yield return RuleOutcome.Fail("R16.deprovisioned", DiagnosticCatalog.NotDeprovisioned, null, string.Join("; ", leftovers));
        }
        else
        {
            yield return RuleOutcome.Fail("R16.deprovisioned", DiagnosticCatalog.DeprovisionDisabled, null, string.Join("; ", leftovers));
        }
    }
}
