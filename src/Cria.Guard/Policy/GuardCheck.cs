using Cria.Guard.Detectors;

namespace Cria.Guard.Policy;

/// <summary>
/// One entry of a stage's list: a detector, what to do when it finds something scoring at least
/// <see cref="Threshold"/>, and — for detectors that can fail (models) — what a failure counts as
/// (<see cref="OnErrorBlocks"/>: true, fail closed, unless the policy says <c>"on_error": "allow"</c>).
/// </summary>
public sealed record GuardCheck(Detector Detector, GuardAction Action, double Threshold = 0.5, bool OnErrorBlocks = true);
