using System.Text.Json;

using Cria.Hub;
using Cria.Hub.Manifests;
using Cria.Hub.Store;

namespace Cria.Server.Tests;

/// <summary>The store (<c>cria list</c>, <c>cria show</c>) and the server (<c>/api/tags</c>, <c>/api/show</c>) describe a model in the same words.</summary>
public sealed class ModelFactsAgreementTests
{
    [Fact]
    public async Task The_store_and_the_server_describe_the_bundled_model_alike()
    {
        string home = Directory.CreateTempSubdirectory("cria-facts-").FullName;
        try
        {
            var store = new ModelStore(home);
            store.Create(ModelName.Parse("stories260K"), new ModelRecipe { From = ModelSource.FromFile(ServerOptions.BundledModelPath) });
            ModelSummary row = Assert.Single(store.List());
            ImageConfig config = store.Show("stories260K").Config;

            await using RunningServer server = await RunningServer.StartAsync();
            using HttpResponseMessage tags = await server.Http.GetAsync("api/tags");
            JsonElement listed = (await RunningServer.JsonAsync(tags)).GetProperty("models")[0].GetProperty("details");
            using HttpResponseMessage show = await server.PostJsonAsync("api/show", """{"model":"stories260K"}""");
            JsonElement shown = (await RunningServer.JsonAsync(show)).GetProperty("details");

            foreach (JsonElement details in new[] { listed, shown })
            {
                Assert.Equal("llama", details.GetProperty("family").GetString());
                Assert.Equal("260K", details.GetProperty("parameter_size").GetString());
                Assert.Equal("F32", details.GetProperty("quantization_level").GetString());
                Assert.Equal(row.Family, details.GetProperty("family").GetString());
                Assert.Equal(row.ParameterSize, details.GetProperty("parameter_size").GetString());
                Assert.Equal(row.FileType, details.GetProperty("quantization_level").GetString());
                Assert.Equal(config.ModelType, details.GetProperty("parameter_size").GetString());
                Assert.Equal(config.FileType, details.GetProperty("quantization_level").GetString());
            }
        }
        finally
        {
            Directory.Delete(home, recursive: true);
        }
    }
}
