namespace Cria.Server.Audit;

/// <summary>
/// What a guard rail found in a request, as the audit log keeps it: which detector, what it found
/// (<c>email</c>, <c>aws_key</c>, <c>S1</c>…), where (UTF-16 offsets into the checked text, end
/// exclusive), the policy category, and what was done (<c>block</c>, <c>redact</c>, <c>log</c>,
/// <c>route_local</c>). Never the matched text itself: the audit log must not become a copy of the
/// secrets and personal data the rails exist to keep out.
/// </summary>
public readonly record struct GuardFinding(string Detector, string Type, int Start, int End, string? Category, string Action);
