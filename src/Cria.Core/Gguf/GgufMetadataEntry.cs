namespace Cria.Core.Gguf;

/// <summary>A key and its value, in file order.</summary>
public sealed record GgufMetadataEntry(string Key, GgufValue Value);
