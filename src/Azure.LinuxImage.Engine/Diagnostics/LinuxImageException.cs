namespace Azure.LinuxImage.Engine.Diagnostics;

/// <summary>
/// A failure the user can act on: it carries its diagnostic code, so every layer (CLI, MSBuild log,
/// JSON report) shows the same code and message. Anything else escaping the engine is a bug.
/// </summary>
public sealed class LinuxImageException : Exception
{
    public LinuxImageException(DiagnosticDescriptor descriptor, string? file, params object?[] args)
        : base(descriptor.Format(args))
    {
        Descriptor = descriptor;
        File = file;
    }

    public LinuxImageException(DiagnosticDescriptor descriptor, string? file, Exception inner, params object?[] args)
        : base(descriptor.Format(args), inner)
    {
        Descriptor = descriptor;
        File = file;
    }

    public DiagnosticDescriptor Descriptor { get; }

    public string? File { get; }

    public Diagnostic ToDiagnostic() => new(Descriptor, DiagnosticSeverity.Error, Message, File);
}
