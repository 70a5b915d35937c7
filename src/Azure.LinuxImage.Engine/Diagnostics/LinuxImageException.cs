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

    /// <summary>A diagnostic already made (e.g. a refused setting, located in the project file).</summary>
    public LinuxImageException(Diagnostic diagnostic)
        : base(diagnostic.Message)
    {
        Descriptor = diagnostic.Descriptor;
        File = diagnostic.File;
        Line = diagnostic.Line;
        Column = diagnostic.Column;
    }

    private LinuxImageException(DiagnosticDescriptor descriptor, string? file, string message, Exception inner)
        : base(message, inner)
    {
        Descriptor = descriptor;
        File = file;
    }

    /// <summary>The same failure seen from the build machine: a guest path goes into the text (see <see cref="Diagnostic.InGuest"/>).</summary>
    public LinuxImageException InGuest(string hostFile)
    {
        var d = ToDiagnostic().InGuest(hostFile);
        return d.File == File ? this : new LinuxImageException(Descriptor, d.File, d.Message, this);
    }

    /// <summary>
    /// The same failure located at <paramref name="guestPath"/>: a file system knows only its nodes,
    /// so the guest tree names the file whose change it refused.
    /// </summary>
    public LinuxImageException At(string guestPath) => new(Descriptor, guestPath, Message, this);

    public DiagnosticDescriptor Descriptor { get; }

    public string? File { get; }

    public int Line { get; }

    public int Column { get; }

    public Diagnostic ToDiagnostic() => new(Descriptor, DiagnosticSeverity.Error, Message, File) { Line = Line, Column = Column };
}
