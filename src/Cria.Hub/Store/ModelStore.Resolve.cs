using Cria.Hub.Manifests;
using Cria.Hub.Modelfiles;

namespace Cria.Hub.Store;

public sealed partial class ModelStore
{
    /// <summary>
    /// What a model argument (<c>cria run NAME</c>, <c>cria serve --model NAME</c>) means: an existing
    /// file is a GGUF path; otherwise a store name, whose weights' blob path is returned with the
    /// template, system prompt, parameters, messages and adapters its manifest carries.
    /// </summary>
    /// <exception cref="ModelNotFoundException">Neither a file nor a model in the store; the message says which was looked for.</exception>
    public ResolvedModel Resolve(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameOrPath);
        if (File.Exists(nameOrPath))
        {
            return new ResolvedModel { ModelPath = Path.GetFullPath(nameOrPath) };
        }
        if (LooksLikePath(nameOrPath))
        {
            throw Directory.Exists(nameOrPath)
                ? new HubException($"{nameOrPath} is a directory, not a GGUF file")
                : new ModelNotFoundException($"model file not found: {nameOrPath}");
        }
        if (!ModelName.TryParse(nameOrPath, out ModelName? name, out string? error))
        {
            throw new ModelNotFoundException($"model \"{Digest.Printable(nameOrPath)}\" not found: there is no such file, and it is not a model name ({error})");
        }
        StoredManifest stored = Find(name)
            ?? throw new ModelNotFoundException(Directory.Exists(nameOrPath)
                ? $"{nameOrPath} is a directory, and there is no {name.DisplayShortest()} in the store ({ModelsDirectory})"
                : $"model \"{nameOrPath}\" not found: no such file, and no {name.DisplayShortest()} in the store ({ModelsDirectory}); `cria list` shows what is there");
        ModelDetails d = Describe(stored);
        if (d.ModelPath is null || d.ModelDigest is null)
        {
            throw new HubException($"{name.DisplayShortest()} has no model layer ({MediaTypes.Model}) to run");
        }
        if (!Blobs.Exists(d.ModelDigest))
        {
            throw new HubException($"{name.DisplayShortest()} is incomplete: its weights, blob {d.ModelDigest}, are missing from {Blobs.Directory}");
        }
        return new ResolvedModel
        {
            ModelPath = d.ModelPath,
            Name = d.Name,
            Parameters = d.Parameters,
            Template = d.Template,
            System = d.System,
            Messages = d.Messages,
            AdapterPaths = d.AdapterPaths,
        };
    }

    /// <summary>
    /// A Modelfile with its FROM resolved — an existing file (relative to <paramref name="baseDirectory"/>)
    /// is imported, otherwise a name must be in this store — and its ADAPTER paths checked.
    /// </summary>
    /// <exception cref="ModelfileException">A FROM or ADAPTER that names nothing usable; the message gives the line.</exception>
    public ModelRecipe ToRecipe(Modelfile modelfile, string baseDirectory)
    {
        ArgumentNullException.ThrowIfNull(modelfile);
        ArgumentNullException.ThrowIfNull(baseDirectory);
        ModelfileInstruction from = modelfile.From;
        var adapters = new List<string>();
        var licenses = new List<string>();
        var messages = new List<ChatMessage>();
        ModelParameters parameters = ModelParameters.Empty;
        string? template = null;
        string? system = null;
        foreach (ModelfileInstruction i in modelfile.Instructions)
        {
            switch (i.Verb)
            {
                case ModelfileVerb.Adapter:
                    string path = ExpandPath(i.Value, baseDirectory);
                    if (!File.Exists(path))
                    {
                        throw new ModelfileException(modelfile.Source, i.Line, $"ADAPTER {i.Value}: file not found ({path})");
                    }
                    adapters.Add(path);
                    break;
                case ModelfileVerb.Parameter: parameters = parameters.With(i.Key!, i.Value); break;
                case ModelfileVerb.Template: template = i.Value; break;
                case ModelfileVerb.System: system = i.Value; break;
                case ModelfileVerb.License: licenses.Add(i.Value); break;
                case ModelfileVerb.Message: messages.Add(new ChatMessage(i.Key!, i.Value)); break;
            }
        }
        return new ModelRecipe
        {
            From = ResolveFrom(from, modelfile.Source, baseDirectory),
            Adapters = adapters,
            Parameters = parameters,
            Template = template,
            System = system,
            Licenses = licenses,
            Messages = messages,
        };
    }

    private ModelSource ResolveFrom(ModelfileInstruction from, string source, string baseDirectory)
    {
        string value = from.Value;
        string path = ExpandPath(value, baseDirectory);
        if (File.Exists(path))
        {
            return ModelSource.FromFile(path);
        }
        bool isDirectory = Directory.Exists(path);
        if (LooksLikePath(value))
        {
            throw new ModelfileException(source, from.Line, isDirectory
                ? $"FROM {value}: {path} is a directory; Cria imports a single GGUF file"
                : $"FROM {value}: file not found ({path})");
        }
        if (!ModelName.TryParse(value, out ModelName? name, out string? error))
        {
            throw new ModelfileException(source, from.Line, $"FROM {Digest.Printable(value)}: no such file, and not a model name ({error})");
        }
        if (Find(name) is null)
        {
            throw new ModelfileException(source, from.Line, isDirectory
                ? $"FROM {value}: {path} is a directory (Cria imports a single GGUF file), and there is no model {name.DisplayShortest()} in the store"
                : $"FROM {value}: no such file, and no model {name.DisplayShortest()} in the store ({ModelsDirectory}); run `cria pull {value}` first");
        }
        return ModelSource.FromStore(name);
    }

    /// <summary>A Modelfile path: <c>~</c> is the home directory, a relative path is relative to the Modelfile's folder.</summary>
    internal static string ExpandPath(string path, string baseDirectory)
    {
        if (path == "~" || path.StartsWith("~/", StringComparison.Ordinal))
        {
            return Path.GetFullPath(Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), path[1..].TrimStart('/')));
        }
        return Path.GetFullPath(path, Path.GetFullPath(baseDirectory));
    }

    /// <summary>Whether an argument is meant as a file path rather than a model name.</summary>
    internal static bool LooksLikePath(string s) =>
        s.StartsWith('/') || s.StartsWith("./", StringComparison.Ordinal) || s.StartsWith("../", StringComparison.Ordinal) || s.StartsWith('~')
        || s.Contains('\\') || s == "." || s == ".."
        || s.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) || s.EndsWith(".bin", StringComparison.OrdinalIgnoreCase);
}
