"""The default customer-experience taxonomy and the ``[topics.NAME]`` settings that edit it.

Topics are zero-shot: each is a description plus example phrases, embedded by the same
encoder as the mentions, so a CX team adds a topic by writing a few lines of config.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sentimon.settings import Setting

TOPIC_SETTINGS: tuple[Setting, ...] = (
    Setting("description", "str", "", "what the topic covers, in a few words"),
    Setting("examples", "list[str]", [], "example phrases a mention of this topic might contain"),
    Setting("keywords", "list[str]", [], "words that, when present, always count as this topic"),
    Setting("threshold", "float", 0.0, "this topic's own similarity threshold; 0 = the calibrated one"),
)


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the taxonomy: a name, what it means, and phrases that exemplify it."""

    name: str
    description: str = ""
    examples: tuple[str, ...] = ()
    keywords: tuple[str, ...] | list[str] = field(default=())
    threshold: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "examples", tuple(self.examples or ()))
        object.__setattr__(self, "keywords", tuple(self.keywords or ()))

    @property
    def phrases(self) -> tuple[str, ...]:
        """What the prototype is built from: the description (if any) and every example."""
        head = (self.description,) if self.description.strip() else (self.name.replace("_", " "),)
        return head + self.examples


DEFAULT_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(
        "delivery",
        "shipping, delivery time, courier, tracking, parcel",
        ("my parcel arrived two weeks late", "tracking never updated", "delivery was fast",
         "the courier left it at the wrong address", "shipping took forever", "it arrived the next day"),
    ),
    TopicSpec(
        "quality",
        "product quality, materials, durability, how well the product is made and works",
        ("the fabric feels cheap", "it broke after a week", "beautifully made and sturdy",
         "the stitching came apart", "great quality for the money", "the jacket is gorgeous"),
    ),
    TopicSpec(
        "price",
        "price, value for money, cost, discounts, expensive or cheap",
        ("way too expensive", "good value for the price", "overpriced for what you get",
         "it was on sale", "cheaper elsewhere", "worth every penny"),
    ),
    TopicSpec(
        "customer_service",
        "customer service, support staff, help desk, responses to complaints",
        ("support never answered my emails", "the agent was very helpful", "rude staff on the phone",
         "customer service resolved it quickly", "I was on hold for an hour", "no reply from the help desk"),
    ),
    TopicSpec(
        "returns",
        "returns, refunds, exchanges, sending items back",
        ("still waiting for my refund", "the return process was easy", "they refused my exchange",
         "I had to pay to send it back", "refund arrived within days", "return label never came"),
    ),
    TopicSpec(
        "packaging",
        "packaging, box, wrapping, items damaged in the package",
        ("the box was crushed", "arrived nicely wrapped", "too much plastic packaging",
         "the package was torn open", "lovely gift packaging", "item was damaged in the box"),
    ),
    TopicSpec(
        "website",
        "website, app, checkout, online ordering, login, payment errors",
        ("the checkout kept failing", "the app crashes when I log in", "easy to order online",
         "the website is so slow", "couldn't apply the discount code", "payment page gave an error"),
    ),
    TopicSpec(
        "size_fit",
        "size, fit, too small, too large, runs small or big, length",
        ("runs small, order a size up", "fits perfectly", "the sleeves are too long",
         "too tight across the chest", "true to size", "way too big and baggy"),
    ),
)
