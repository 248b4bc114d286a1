using System.Text.Json;

namespace Cria.Core.Tests.Training;

/// <summary>
/// A generated dataset of TinyStories-like stories about a character the base model never names,
/// "Zorblat" (stories260K's greedy stories are about Lily, Tom, Max…). Same seed, same stories.
/// </summary>
internal static class ZorblatStories
{
    private static readonly string[] s_animals = ["cat", "dog", "bird", "bunny", "frog", "bear", "fish", "duck"];
    private static readonly string[] s_verbs = ["play", "run", "jump", "sing", "swim", "dance", "read", "draw"];
    private static readonly string[] s_places = ["park", "garden", "house", "forest", "pond", "yard", "room", "town"];
    private static readonly string[] s_things = ["ball", "box", "tree", "car", "hat", "cake", "toy", "kite"];
    private static readonly string[] s_adjectives = ["big", "red", "small", "shiny", "blue", "happy", "soft", "new"];
    private static readonly string[] s_friends = ["Lily", "Tom", "Sue", "Ben", "Mia", "Sam"];

    public static List<string> Generate(int seed, int count)
    {
        var rng = new Random(seed);
        string Pick(string[] a) => a[rng.Next(a.Length)];
        var stories = new List<string>(count);
        for (int i = 0; i < count; i++)
        {
            string animal = Pick(s_animals), verb = Pick(s_verbs), place = Pick(s_places), thing = Pick(s_things), adj = Pick(s_adjectives), friend = Pick(s_friends);
            stories.Add($"Once upon a time, there was a little {animal} named Zorblat. Zorblat liked to {verb} in the {place}. "
                + $"One day, Zorblat saw a {adj} {thing}. Zorblat said, \"I want to {verb} with the {thing}!\" "
                + $"Zorblat and {friend} played with the {thing} all day. Zorblat was very happy.");
        }
        return stories;
    }

    public static string WriteJsonl(string path, IEnumerable<string> stories)
    {
        File.WriteAllLines(path, stories.Select(s => JsonSerializer.Serialize(new Dictionary<string, string> { ["text"] = s })));
        return path;
    }
}
