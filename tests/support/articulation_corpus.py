"""Sentences and eSpeak NG voices for the viseme model: what it trains on, and what it never sees.

Three disjoint sets:
- TRAINING: the model's weights are fitted on these sentences in TRAINING_VARIANTS.
- TUNING: the mouth driver's and renderer's constants were adjusted while
  watching these (the articulation baseline's sentences, eSpeak's default voices).
- HELD_OUT: sentences and voice variants used by neither; the articulation
  test and benchmark report them separately.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Utterance:
    language: str
    voice: str
    text: str
    rate_wpm: int = 175
    pitch: int = 50


TRAINING_VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+f1", "+f2", "+klatt", "+klatt2", "+Andy", "+annie", "+david")
HELD_OUT_VARIANTS = ("+f3", "+m7", "+klatt4", "+belinda")

TRAINING_SENTENCES: dict[str, tuple[str, ...]] = {
    "en-us": (
        "Good morning, how can I help you today?",
        "The weather will be warm and sunny this afternoon.",
        "I think the meeting starts at half past nine.",
        "Could you please open the window for me?",
        "My brother plays the piano every Monday evening.",
        "We bought bread, butter and a bottle of milk.",
        "Paul moved to Boston when he was twenty.",
        "The museum opens at ten and closes at five.",
        "Remember to bring a map and plenty of water.",
        "She smiled, then waved from the bus.",
        "Few people know how old the moon really is.",
        "Five brave pilots flew over the valley.",
        "Would you like some soup or a small salad?",
        "The boat was moored by the pier for the summer.",
        "Please move the blue box to the top shelf.",
        "Maybe we can meet again next Wednesday.",
        "A cool breeze blew through the open room.",
        "He always puts pepper on his potatoes.",
        "The baby fell asleep in the back of the bus.",
        "Thank you for your patience, it won't be long.",
        "Our company builds tools for modern farms.",
        "I'm afraid the shop is closed on Sundays.",
        "Bring me the book about birds and bees.",
        "Who knew the movie would be so good?",
        "The river flows past the mill and into the bay.",
        "Peter painted a purple picture of a pumpkin.",
        "Vivid violet flowers grew beside the fence.",
        "It might rain, so take your umbrella.",
        "We need to review the budget before Friday.",
        "Food from the market is fresh and cheap.",
        "Let me check whether your order has shipped.",
        "Music helps me focus when I work from home.",
        "Happy birthday, I hope you have a wonderful day.",
        "The two of us walked home through the woods.",
        "Please remember your password and keep it safe.",
    ),
    "en": (
        "Mum baked a lovely plum pie for tea.",
        "The bus to Bath leaves from platform three.",
        "Whose umbrella is this, and why is it wet?",
        "I'd love a cup of coffee with a biscuit.",
        "Bobby lost his boots by the pool.",
        "The film was boring, but the popcorn was good.",
        "Look at the moon above the harbour.",
        "We'll phone you when the parcel arrives.",
        "Move over, there's room for everybody.",
        "Perhaps the problem is simpler than we thought.",
        "The garden blooms with roses in June.",
        "Five of my friends are visiting from abroad.",
    ),
    "ko": (
        "안녕하세요, 무엇을 도와드릴까요?",
        "오늘 날씨가 정말 좋네요.",
        "저는 매일 아침 커피를 마십니다.",
        "버스를 타고 시장에 갔어요.",
        "우리 동생은 피아노를 잘 칩니다.",
        "밤하늘에 별이 많이 보입니다.",
        "주말에 무엇을 할 계획이에요?",
        "이 물건은 얼마입니까?",
        "배가 고파서 밥을 먹었어요.",
        "봄이 오면 꽃이 핍니다.",
        "부모님께 편지를 보냈습니다.",
        "문을 열어 주시겠어요?",
        "비행기가 곧 출발합니다.",
        "바쁜 하루였지만 보람이 있었어요.",
        "모자를 쓰고 밖으로 나갔어요.",
        "맛있는 음식을 먹고 싶어요.",
        "회의는 몇 시에 시작합니까?",
        "천천히 말씀해 주세요.",
        "할머니 댁은 바닷가 마을에 있어요.",
        "감사합니다, 좋은 하루 보내세요.",
        "물 한 잔 주시겠어요?",
        "부엌에서 빵 굽는 냄새가 나요.",
    ),
    "de": (
        "Guten Morgen, wie geht es Ihnen?",
        "Meine Mutter backt einen Apfelkuchen.",
        "Wir fahren morgen mit dem Bus nach Berlin.",
        "Die Blumen blühen im Mai besonders schön.",
    ),
    "fr": (
        "Bonjour, je voudrais un café, s'il vous plaît.",
        "Mon père boit du vin rouge au dîner.",
        "Nous partons pour Paris au mois de mai.",
        "La boulangerie ouvre à sept heures du matin.",
    ),
    "es": (
        "Buenos días, ¿cómo puedo ayudarle?",
        "Mi mamá prepara una paella muy buena.",
        "Vamos a la playa el próximo domingo.",
        "El perro bebe agua de un plato azul.",
    ),
    "it": (
        "Buongiorno, posso aiutarla?",
        "Il bambino mangia una mela rossa.",
        "Andiamo al mare per le vacanze.",
    ),
    "pt": (
        "Bom dia, tudo bem com você?",
        "O menino bebe um copo de leite.",
        "Vamos passear no parque amanhã.",
    ),
}

TUNING: tuple[Utterance, ...] = (
    Utterance("en", "en-us", "Mama bought a blue balloon. We see three sheep."),
    Utterance("en", "en", "Bob put the map by the pool, and Sue saw a shoe."),
    Utterance("en", "en-us", "Pam may buy a big blue boat; Eve keeps the key."),
    Utterance("ko", "ko", "반갑습니다. 우리 엄마는 부산에 삽니다."),
    Utterance("ko", "ko", "바다 보러 가요. 오늘 비가 옵니다."),
    Utterance("en", "en-us+m2", "Ruth took two cool boots to the zoo.", rate_wpm=220, pitch=40),
    Utterance("en", "en+f1", "Pete and Mimi eat sweet beets at the beach.", rate_wpm=150, pitch=65),
    Utterance("en", "en-us+m4", "My mom bakes apple pie and plum jam.", rate_wpm=240, pitch=55),
    Utterance("en", "en+klatt", "Abby maps the bumpy path by the lamp.", rate_wpm=170, pitch=45),
    Utterance("en", "en-us+annie", "Tom may bring a map of Memphis.", rate_wpm=200, pitch=70),
    Utterance("ko", "ko+m3", "우유를 두 개 사 오세요. 비빔밥이 맛있어요.", rate_wpm=210, pitch=45),
    Utterance("ko", "ko+f2", "오후에 친구를 만나서 영화를 봤어요.", rate_wpm=160, pitch=65),
)

HELD_OUT: tuple[Utterance, ...] = (
    Utterance("en", "en-us+f3", "Please bring my brown umbrella back before noon.", rate_wpm=210, pitch=65),
    Utterance("en", "en+m7", "Who would move two blue boots for Bob?", rate_wpm=140, pitch=35),
    Utterance("en", "en-us+klatt4", "Maybe we should meet by the big oak tree.", rate_wpm=185, pitch=50),
    Utterance("en", "en-us+belinda", "Bees buzz by the blooming apple trees in May.", rate_wpm=160, pitch=60),
    Utterance("ko", "ko+f3", "봄바람이 불면 마음이 편해요.", rate_wpm=190, pitch=60),
    Utterance("ko", "ko+m7", "아버지는 매일 아침 밥을 드십니다.", rate_wpm=150, pitch=40),
    Utterance("ko", "ko+klatt4", "모두 함께 바닷가로 놀러 갑시다.", rate_wpm=175, pitch=50),
)
