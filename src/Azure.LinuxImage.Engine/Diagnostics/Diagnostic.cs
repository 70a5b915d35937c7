namespace Azure.LinuxImage.Engine.Diagnostics;

/// <summary>A reported diagnostic, with the severity it ended up with after NoWarn / WarningsAsErrors.</summary>
public sealed record Diagnostic(DiagnosticDescriptor Descriptor, DiagnosticSeverity Severity, string Message, string? File)
{
    public string Code => Descriptor.Code;

    /// <summary>1-based line in <see cref="File"/>, or 0 when the diagnostic is about the whole file.</summary>
    public int Line { get; init; }

    public int Column { get; init; }

    public static Diagnostic Create(DiagnosticDescriptor descriptor, string? file, params object?[] args) =>
        new(descriptor, descriptor.DefaultSeverity, descriptor.Format(args), file);

    /// <summary>
    /// A diagnostic about a file inside the guest: the build machine has no such file, so the
    /// diagnostic names no file (it points at the project) and says the guest path in its text.
    /// Files other than <paramref name="hostFile"/> (the image) are guest paths.
    /// </summary>
    public Diagnostic InGuest(string hostFile) =>
        File is null || File == hostFile ? this : this with { File = null, Message = $"{Message} (in the guest: {File})" };

    /// <summary>
    /// The canonical MSBuild form (<c>origin: error CODE: text</c>) that ToolTask and IDEs parse.
    /// </summary>
    public string ToCanonicalString()
    {
        string category = Severity switch
        {
            DiagnosticSeverity.Error => "error",
            DiagnosticSeverity.Warning => "warning",
            _ => "info",
        };
        if (Severity == DiagnosticSeverity.Info)
        {
            // MSBuild's canonical parser knows only error and warning; an info line stays a message.
            return $"{Code}: {Message}";
        }
        string origin = string.IsNullOrEmpty(File) ? "linuximage" : Line > 0 ? $"{File}({Line},{Math.Max(Column, 1)})" : File!;
        // The requirement it enforces (docs/requirements.md), when it enforces one.
        string requirement = Descriptor.Requirement == "-" ? string.Empty : $" [{Descriptor.Requirement}]";
        return $"{origin}: {category} {Code}: {Message}{requirement}";
    }
}
