using Cria.Core.Gguf;
using Cria.Hub.Store;
using Cria.Numerics;

namespace Cria.Hub.Tests;

/// <summary>A model store in a fresh temporary directory, deleted afterwards; plus the files tests build models from.</summary>
internal sealed class TempStore : IDisposable
{
    public TempStore()
    {
        Root = Directory.CreateTempSubdirectory("cria-hub-").FullName;
        Store = new ModelStore(Path.Combine(Root, "home"));
    }

    public string Root { get; }

    public ModelStore Store { get; }

    /// <summary>The bundled model, models/stories260K.gguf (llama, 260K parameters, F32, general.license MIT).</summary>
    public static string BundledModel => RepoPath("models/stories260K.gguf");

    public static string RepoPath(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Cria.slnx")))
            {
                return Path.Combine(dir.FullName, relative);
            }
        }
        throw new InvalidOperationException("repository root not found");
    }

    public string WriteFile(string name, string text)
    {
        string path = Path.Combine(Root, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>Creates a model from Modelfile text written into the temp folder (so relative paths resolve there).</summary>
    public StoredManifest Create(string name, string modelfile)
    {
        string path = WriteFile("Modelfile", modelfile);
        return Store.Create(ModelName.Parse(name), Modelfiles.Modelfile.Load(path), Root);
    }

    /// <summary>A tiny LoRA-style adapter GGUF (general.type = adapter) for an architecture.</summary>
    public string WriteAdapter(string name, string architecture = "llama", string type = "adapter")
    {
        var w = new GgufWriter();
        w.Add("general.architecture", architecture);
        w.Add("general.type", type);
        w.Add("adapter.type", "lora");
        w.Add("adapter.lora.alpha", 16f);
        w.AddTensor("blk.0.attn_q.weight.lora_a", GgmlType.F32, [64, 2], new byte[64 * 2 * 4]);
        w.AddTensor("blk.0.attn_q.weight.lora_b", GgmlType.F32, [2, 64], new byte[2 * 64 * 4]);
        string path = Path.Combine(Root, name);
        w.Save(path);
        return path;
    }

    /// <summary>Every regular file under the store's models/ folder, relative, sorted (the lock files ".lock" and "blobs/.writers" excluded).</summary>
    public string[] Files()
    {
        if (!Directory.Exists(Store.ModelsDirectory))
        {
            return [];
        }
        return [.. Directory.EnumerateFiles(Store.ModelsDirectory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Store.ModelsDirectory, f))
            .Where(f => f != ".lock" && f != Path.Combine("blobs", ".writers"))
            .Order(StringComparer.Ordinal)];
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
