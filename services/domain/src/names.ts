// Random two-word run names ("gentle-heron"), as v1 gave every flow run without a name. Our own word lists.
import { randomInt } from "node:crypto";

const ADJECTIVES = [
  "agile", "amber", "ancient", "arctic", "azure", "bold", "brave", "breezy", "bright", "brisk", "calm", "candid",
  "cheerful", "clever", "cobalt", "cosmic", "crimson", "curious", "dapper", "daring", "dazzling", "eager", "elegant",
  "emerald", "epic", "fancy", "fearless", "festive", "fluffy", "friendly", "gentle", "gifted", "glowing", "golden",
  "graceful", "happy", "hardy", "hidden", "honest", "humble", "icy", "jolly", "jovial", "keen", "kind", "lively",
  "lucky", "lunar", "magic", "mellow", "merry", "mighty", "misty", "modest", "noble", "nimble", "olive", "patient",
  "peaceful", "polite", "proud", "quick", "quiet", "radiant", "rapid", "rustic", "scarlet", "serene", "shiny", "silent",
  "silver", "smart", "solar", "spiffy", "steady", "sturdy", "sunny", "swift", "tidy", "tranquil", "true", "vivid",
  "warm", "wise", "witty", "zealous",
];

const NOUNS = [
  "albatross", "alpaca", "antelope", "badger", "beaver", "bison", "bobcat", "buffalo", "camel", "caribou", "cheetah",
  "chipmunk", "cobra", "condor", "cougar", "coyote", "crane", "dolphin", "dove", "eagle", "falcon", "ferret", "finch",
  "flamingo", "fox", "gazelle", "gecko", "giraffe", "gopher", "grouse", "hare", "hawk", "hedgehog", "heron", "ibex",
  "iguana", "jackal", "jaguar", "kestrel", "kingfisher", "koala", "lemur", "leopard", "lion", "llama", "lynx",
  "magpie", "mink", "mole", "moose", "narwhal", "newt", "ocelot", "octopus", "orca", "osprey", "otter", "owl", "panda",
  "panther", "parrot", "pelican", "penguin", "puffin", "quail", "rabbit", "raccoon", "raven", "reindeer", "robin",
  "salamander", "seal", "sparrow", "squirrel", "starling", "stork", "swan", "tapir", "tiger", "toucan", "turtle",
  "walrus", "weasel", "wolf", "wombat", "woodpecker", "yak", "zebra",
];

const pick = (words: readonly string[]): string => words[randomInt(words.length)]!;

/** A random lowercase `adjective-animal` name. */
export function randomRunName(): string {
  return `${pick(ADJECTIVES)}-${pick(NOUNS)}`;
}
