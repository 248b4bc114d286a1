namespace Cria.Hub.Manifests;

/// <summary>
/// Media types of manifests and layers: Docker's v2 manifest and image config, Ollama's layer types
/// (ollama/ollama server/images.go, server/create.go), and Cria's own two.
/// </summary>
public static class MediaTypes
{
    public const string Manifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string Config = "application/vnd.docker.container.image.v1+json";

    /// <summary>The weights: one GGUF file.</summary>
    public const string Model = "application/vnd.ollama.image.model";

    /// <summary>The prompt template (Ollama's Go template syntax; Cria keeps it verbatim).</summary>
    public const string Template = "application/vnd.ollama.image.template";

    /// <summary>Older name of the template layer, still read.</summary>
    public const string Prompt = "application/vnd.ollama.image.prompt";

    public const string System = "application/vnd.ollama.image.system";

    /// <summary>Default options as a JSON object (<c>{"temperature":0.7,"stop":["…"]}</c>).</summary>
    public const string Params = "application/vnd.ollama.image.params";

    /// <summary>One licence text per layer; a model may have several.</summary>
    public const string License = "application/vnd.ollama.image.license";

    /// <summary>A LoRA adapter GGUF applied on top of the model.</summary>
    public const string Adapter = "application/vnd.ollama.image.adapter";

    /// <summary>Example conversation as a JSON array of <c>{"role","content"}</c>.</summary>
    public const string Messages = "application/vnd.ollama.image.messages";

    /// <summary>Cria: the "Notice" file its licences require redistributions to carry (one line per licence).</summary>
    public const string Notice = "application/vnd.cria.notice";

    /// <summary>Cria: where the model came from, a JSON array of <see cref="LineageStep"/>.</summary>
    public const string Lineage = "application/vnd.cria.lineage+json";

    /// <summary>Cria: README.md with YAML front matter (licence, base_model, base_model_relation, tags).</summary>
    public const string ModelCard = "application/vnd.cria.modelcard";
}
