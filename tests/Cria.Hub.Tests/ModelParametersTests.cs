using Cria.Hub.Manifests;

namespace Cria.Hub.Tests;

public sealed class ModelParametersTests
{
    [Fact]
    public void Values_are_typed_and_written_as_ollama_writes_them()
    {
        ModelParameters p = ModelParameters.Empty
            .With("temperature", "0.7").With("top_k", "40").With("top_p", "0.9").With("use_mmap", "True")
            .With("stop", "<|im_end|>").With("stop", "<|im_start|>").With("seed", "-1").With("num_predict", "-2");
        Assert.Equal(
            """{"num_predict":-2,"seed":-1,"stop":["<|im_end|>","<|im_start|>"],"temperature":0.7,"top_k":40,"top_p":0.9,"use_mmap":true}""",
            System.Text.Encoding.UTF8.GetString(p.ToJson()));
        ModelParameters back = ModelParameters.FromJson(p.ToJson(), "test");
        Assert.Equal(p.ToJson(), back.ToJson());
        Assert.Equal(0.7f, back.GetFloat("temperature"));
        Assert.Equal(40, back.GetInteger("top_k"));
        Assert.Equal(true, back.GetBool("use_mmap"));
    }

    [Fact]
    public void A_derivatives_parameters_replace_its_bases_key_by_key()
    {
        ModelParameters basis = ModelParameters.Empty.With("temperature", "0.9").With("stop", "a").With("stop", "b").With("num_ctx", "2048");
        ModelParameters mine = ModelParameters.Empty.With("temperature", "0.2").With("stop", "c");
        ModelParameters merged = basis.Merge(mine);
        Assert.Equal(0.2f, merged.GetFloat("temperature"));
        Assert.Equal(["c"], merged.GetStrings("stop"));
        Assert.Equal(2048, merged.GetInteger("num_ctx"));
    }

    [Fact]
    public void Pulled_parameters_with_unknown_keys_survive_and_bad_types_are_named()
    {
        ModelParameters p = ModelParameters.FromJson("""{"num_ctx":4096.0,"stop":"<eos>","future_option":{"x":[1,2]}}"""u8, "pulled");
        Assert.Equal(4096, p.GetInteger("num_ctx"));
        Assert.Equal(["<eos>"], p.GetStrings("stop"));
        Assert.Equal("""{"future_option":{"x":[1,2]},"num_ctx":4096,"stop":["<eos>"]}""", System.Text.Encoding.UTF8.GetString(p.ToJson()));
        Assert.Contains("\"temperature\" has a String value", Assert.Throws<HubException>(() => ModelParameters.FromJson("""{"temperature":"hot"}"""u8, "pulled")).Message);
        Assert.Contains("not a JSON object", Assert.Throws<HubException>(() => ModelParameters.FromJson("[1]"u8, "pulled")).Message);
        Assert.Contains("not valid JSON", Assert.Throws<HubException>(() => ModelParameters.FromJson("{"u8, "pulled")).Message);
        Assert.Contains("not valid JSON", Assert.Throws<HubException>(() => ModelParameters.FromJson(System.Text.Encoding.UTF8.GetBytes(new string('[', 100) + new string(']', 100)), "pulled")).Message);
    }
}
