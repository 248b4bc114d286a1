namespace Cria.Hub.Store;

/// <summary>
/// Progress of a long store operation: a status line ("copying model", "writing manifest"), and for
/// the step that moves bytes, how many of how many (<see cref="Total"/> 0 when the step has no size).
/// </summary>
public readonly record struct StoreProgress(string Status, long Completed, long Total);
