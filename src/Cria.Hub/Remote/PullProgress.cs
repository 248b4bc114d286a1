namespace Cria.Hub.Remote;

/// <summary>
/// Progress of a pull or push: a status ("pulling manifest", "downloading", "verifying", "writing
/// manifest"), the item it concerns (a blob digest or a file name; null for whole-model steps), and for
/// steps that move bytes, how many of how many (<see cref="Total"/> 0 when the step has no size).
/// </summary>
public readonly record struct PullProgress(string Status, string? Item, long Completed, long Total);
