"""Spoken test material made on the spot with a speech synthesizer.

The project never ships real recordings of real people, so every test, benchmark
and the bundled demo speaks its own "talks" with espeak-ng or flite and encodes
them with ffmpeg.  The talks are written so that a tiny Whisper model transcribes
them almost word for word (plain words, no names, numbers or homophones) and so
that each one repeats a few topic words that a keyword titler can pick out.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import random
import shutil
import subprocess
import tempfile
import unicodedata
import uuid
import wave
from pathlib import Path

# Every sentence is brought to this one format before joining, because ffmpeg's
# concat demuxer only joins pieces whose sample format matches exactly; it is
# also what Whisper wants, so nothing is lost on the way.
SAMPLE_RATE = 16_000

FLITE_VOICES = ("kal", "slt", "awb", "rms")

# espeak-ng speaks 175 words a minute by default; flite's pace is close to that,
# so a flite "speed" is turned into a duration stretch around the same anchor.
_ESPEAK_DEFAULT_SPEED = 175

TALKS: dict[str, list[str]] = {
    "bees": [
        "Today we will talk about bees, honey and the flowers that bees visit.",
        "Bees live together in a hive with a single queen.",
        "The worker bees fly from flower to flower to collect nectar and pollen.",
        "As the bees gather food, they carry pollen between the flowers.",
        "This movement of pollen from one flower to another is called pollination.",
        "Without pollination, many fruit trees and garden plants would not make seeds.",
        "Inside the hive, the bees turn the nectar into honey.",
        "They store the honey in wax cells to feed the hive during the winter.",
        "Farmers often bring a hive of bees into an orchard in the spring.",
        "A healthy hive needs clean water and many different flowers nearby.",
        "When we protect bees and pollination, we also protect our food.",
    ],
    "forgiveness": [
        "This morning I want to speak about patience and forgiveness.",
        "Patience is the quiet strength to wait without anger.",
        "We all know how hard it is to be patient with the people we love.",
        "Forgiveness asks even more of us than patience does.",
        "To forgive someone is to set down a heavy burden.",
        "Forgiveness does not mean that the harm did not matter.",
        "It means we choose not to carry bitterness in our hearts.",
        "Patience gives us the time we need to find forgiveness.",
        "When we are patient with others, we learn to be patient with ourselves.",
        "Let us practice patience and forgiveness in our homes and in our work.",
        "May patience and forgiveness guide us in everything we do.",
    ],
    "kayaking": [
        "This talk is about safety when you paddle a kayak on a river.",
        "Before you paddle, always put on a life jacket that fits you well.",
        "Check the river level and the forecast before you leave the house.",
        "Tell a friend where you plan to start and where you plan to finish.",
        "Never paddle a river alone, and keep your group close together.",
        "Strong currents can push a kayak against rocks and fallen trees.",
        "Learn how to get out of a kayak that has turned over in the river.",
        "If you fall into the river, float on your back and keep your feet up.",
        "Look at the fast water from the shore before you paddle into it.",
        "A good helmet protects your head if the kayak flips in shallow water.",
        "Good safety habits make every river trip in a kayak more enjoyable.",
    ],
    "lighthouses": [
        "Tonight we look at the long history of the lighthouse.",
        "For centuries, sailors feared the rocks along a dark coast.",
        "The earliest lighthouse was a simple tower with an open fire burning on top.",
        "Later, lighthouse builders used oil lamps and polished mirrors for a stronger light.",
        "A great change came with a special lens, which gathered the light into a strong beam.",
        "Every lighthouse had a keeper who climbed the stairs each evening to light the lamp.",
        "The keeper cleaned the lens and watched the ships through the night.",
        "In fog, the lighthouse also sounded a loud horn to warn the ships.",
        "Each lighthouse flashed its own pattern, so sailors could tell one tower from another.",
        "Today almost every lighthouse runs automatically, and the keepers are gone.",
        "Yet the lighthouse remains a symbol of safety along the coast.",
    ],
    "sourdough": [
        "Let us talk about making sourdough bread at home.",
        "Sourdough bread rises without any yeast from the store.",
        "Instead, every sourdough kitchen keeps a starter of wild yeast and friendly bacteria.",
        "To feed the starter, you stir fresh wheat and water into the jar each morning.",
        "A lively starter is bubbly and smells pleasantly sour.",
        "To make the dough, combine the starter with water, salt and wheat.",
        "Fold the dough gently several times so it becomes strong and smooth.",
        "Then let the dough rest slowly in a cool kitchen overnight.",
        "The next day, shape the dough into a round loaf.",
        "Put the bread in a very hot oven until the crust is dark and crisp.",
        "Wait until the sourdough bread cools before you cut the first slice.",
    ],
}

# Talks in other languages, spoken by espeak-ng's voice for each (ESPEAK_VOICES): the same
# rules as TALKS (plain words, no names or numbers, a few topic words said again and again),
# written for titles, search and language detection in those languages (issue 32). English
# is TALKS itself.
TALKS_IN: dict[str, dict[str, list[str]]] = {
    "en": TALKS,
    "fr": {
        "abeilles": [
            "Aujourd'hui, nous allons parler des abeilles et du miel.",
            "Les abeilles vivent ensemble dans une ruche avec une seule reine.",
            "Chaque jour, les abeilles volent de fleur en fleur pour chercher du nectar.",
            "Dans la ruche, les abeilles transforment le nectar en miel.",
            "Le miel nourrit toute la ruche pendant le long hiver.",
            "En passant de fleur en fleur, les abeilles transportent le pollen.",
            "Sans les abeilles, beaucoup d'arbres fruitiers ne donneraient pas de fruits.",
            "Protéger les abeilles, c'est aussi protéger notre nourriture.",
        ],
        "boulangerie": [
            "Ce soir, je voudrais vous parler du pain et de la boulangerie.",
            "Le boulanger commence son travail très tôt, bien avant le lever du soleil.",
            "Pour faire du pain, il faut de la farine, de l'eau, du sel et du levain.",
            "Le boulanger pétrit la pâte longtemps pour la rendre souple.",
            "Ensuite, la pâte repose et lève lentement dans la boulangerie.",
            "Le four de la boulangerie doit être très chaud pour cuire le pain.",
            "Un bon pain a une croûte dorée et une mie légère.",
            "Le matin, tout le quartier vient acheter son pain à la boulangerie.",
        ],
        "école": [
            "Parlons de l'école et du métier d'enseignant.",
            "Chaque matin, les élèves arrivent à l'école avec leur cartable.",
            "L'enseignant accueille les élèves dans une classe calme.",
            "À l'école, les élèves apprennent à lire et à écrire.",
            "Un bon enseignant écoute chaque élève avec patience.",
            "Les élèves travaillent ensemble sur de petits projets.",
            "Après la classe, les élèves jouent dans la cour de l'école.",
            "Une bonne école donne confiance à tous les élèves.",
        ],
        "café": [
            "Ce matin, parlons du café, de sa culture et de sa préparation.",
            "Le café pousse sur de petits arbres dans les pays chauds.",
            "Les grains de café sont cueillis à la main quand ils sont rouges.",
            "Ensuite, on sèche les grains au soleil pendant plusieurs jours.",
            "La torréfaction donne aux grains de café leur couleur brune et leur parfum.",
            "Il faut moudre les grains juste avant de préparer le café.",
            "Une eau trop chaude rend le café amer.",
            "Un bon café se boit lentement, avec des amis.",
        ],
    },
    "de": {
        "bienen": [
            "Heute sprechen wir über Bienen, Honig und Blumen.",
            "Die Bienen leben zusammen in einem Bienenstock mit einer Königin.",
            "Jeden Tag fliegen die Bienen von Blume zu Blume.",
            "Sie sammeln Nektar und Pollen für den ganzen Bienenstock.",
            "Im Bienenstock machen die Bienen aus dem Nektar süßen Honig.",
            "Der Honig ist das Futter der Bienen im langen Winter.",
            "Ohne Bienen tragen viele Obstbäume keine Früchte.",
            "Wer die Bienen schützt, schützt auch unser Essen.",
        ],
        "bäckerei": [
            "Heute Abend möchte ich über das Brot und die Bäckerei sprechen.",
            "Der Bäcker beginnt seine Arbeit sehr früh am Morgen.",
            "Für ein gutes Brot braucht man Mehl, Wasser, Salz und Sauerteig.",
            "Der Bäcker knetet den Teig lange und kräftig.",
            "Dann ruht der Teig in der warmen Bäckerei.",
            "Der Ofen der Bäckerei muss sehr heiß sein.",
            "Ein frisches Brot hat eine knusprige Kruste.",
            "Am Morgen kaufen die Nachbarn ihr Brot in der Bäckerei.",
        ],
        "straße": [
            "Dieser Vortrag handelt von der Sicherheit auf der Straße.",
            "Kinder müssen lernen, wie man eine Straße sicher überquert.",
            "Vor dem Überqueren schaut man nach links und nach rechts.",
            "An einer großen Straße hilft eine Ampel den Fußgängern.",
            "Radfahrer tragen einen Helm und fahren auf dem Radweg.",
            "Autofahrer fahren langsam, wenn Kinder an der Straße spielen.",
            "Bei Regen ist die Straße glatt und gefährlich.",
            "Die Sicherheit auf der Straße geht uns alle an.",
        ],
        "wald": [
            "Heute gehen wir gemeinsam in den Wald.",
            "Der Wald ist die Heimat von vielen Tieren und Pflanzen.",
            "Hohe Bäume geben dem Wald Schatten und frische Luft.",
            "Im Herbst fallen die bunten Blätter der Bäume auf den Boden.",
            "Die Blätter werden zu neuer Erde für den Wald.",
            "Der Förster pflegt den Wald und pflanzt junge Bäume.",
            "Im Wald soll man leise sein und keinen Müll liegen lassen.",
            "Ein gesunder Wald schützt das Wasser und die Luft.",
        ],
    },
    "es": {
        "pescadores": [
            "Hoy vamos a hablar del mar y de los pescadores.",
            "Los pescadores salen al mar muy temprano, antes del amanecer.",
            "Cada barco lleva redes grandes y fuertes.",
            "En el mar, los pescadores trabajan juntos durante muchas horas.",
            "Cuando el mar está tranquilo, la pesca es buena.",
            "Cuando hay tormenta, los barcos se quedan en el puerto.",
            "Por la tarde, los pescadores venden el pescado en el puerto.",
            "La vida de los pescadores depende siempre del mar.",
        ],
        "huerto": [
            "Esta tarde quiero hablar del huerto y de las verduras.",
            "Un huerto necesita sol, agua y buena tierra.",
            "En primavera plantamos tomates, lechugas y cebollas en el huerto.",
            "Las verduras crecen mejor cuando regamos la tierra por la mañana.",
            "Hay que quitar las malas hierbas del huerto cada semana.",
            "Las abejas visitan las flores de las verduras.",
            "En verano, el huerto nos da verduras frescas todos los días.",
            "Cuidar un huerto enseña paciencia a toda la familia.",
        ],
        "montaña": [
            "Esta charla trata de la seguridad en la montaña.",
            "Antes de subir a la montaña, mira siempre el cielo.",
            "Lleva agua, comida y ropa de abrigo en la mochila.",
            "En la montaña, el cielo cambia muy rápido.",
            "Camina despacio y descansa cuando estés cansado.",
            "No dejes nunca el sendero marcado.",
            "Si hay niebla en la montaña, es mejor volver atrás.",
            "Con prudencia, la montaña es un lugar maravilloso.",
        ],
        "biblioteca": [
            "Hoy quiero hablar de la biblioteca del barrio.",
            "La biblioteca es un lugar tranquilo para leer y estudiar.",
            "En la biblioteca hay libros para niños y para adultos.",
            "Los niños escuchan cuentos en la biblioteca cada semana.",
            "Puedes llevar libros a casa y devolverlos después.",
            "Los libros viejos se cuidan con mucho cariño.",
            "La biblioteca también ofrece cursos y talleres.",
            "Una buena biblioteca abre sus puertas a todo el mundo.",
        ],
    },
    "it": {
        "olio": [
            "Oggi parliamo dell'olio d'oliva e degli ulivi.",
            "Gli ulivi crescono bene al sole, sulle colline vicino al mare.",
            "In autunno si raccolgono le olive a mano.",
            "Le olive vanno subito al frantoio.",
            "Nel frantoio le olive diventano un olio verde e profumato.",
            "Un buon olio d'oliva ha un sapore fresco e leggermente amaro.",
            "L'olio d'oliva si usa sul pane, sull'insalata e sulla pasta.",
            "Gli ulivi possono vivere moltissimi anni.",
        ],
        "gelato": [
            "Parliamo del gelato, il dolce preferito dell'estate.",
            "Il gelato si prepara con latte, zucchero e frutta fresca.",
            "Il gelataio mescola il gelato lentamente mentre si raffredda.",
            "Un buon gelato è morbido e cremoso.",
            "Il gelato alla frutta è leggero e molto fresco.",
            "D'estate, le famiglie passeggiano e mangiano un gelato insieme.",
            "Il gelato artigianale si fa ogni giorno nel laboratorio.",
            "Per molti bambini, il gelato è la gioia dell'estate.",
        ],
        "bicicletta": [
            "Questa sera parliamo della bicicletta in città.",
            "La bicicletta è un mezzo di trasporto semplice e pulito.",
            "Andare in bicicletta fa bene al cuore e alla salute.",
            "In città servono strade sicure per le biciclette.",
            "Prima di partire, controlla i freni e le ruote della bicicletta.",
            "Di sera, la bicicletta deve avere una luce davanti e una dietro.",
            "Molte persone vanno al lavoro in bicicletta ogni mattina.",
            "Con più biciclette, l'aria della città diventa più pulita.",
        ],
        "vendemmia": [
            "Oggi vi racconto la vendemmia sulle colline.",
            "La vendemmia arriva alla fine dell'estate, quando l'uva è matura.",
            "Le famiglie raccolgono l'uva a mano, grappolo dopo grappolo.",
            "I grappoli d'uva vanno nelle ceste e poi in cantina.",
            "In cantina l'uva diventa mosto e poi vino.",
            "Il vino riposa a lungo nelle botti di legno.",
            "Durante la vendemmia si lavora molto, ma si canta anche.",
            "Alla fine della vendemmia, tutti festeggiano insieme.",
        ],
    },
    "pt": {
        "farol": [
            "Hoje vamos falar da história do farol.",
            "Durante muito tempo, os marinheiros tinham medo das rochas da costa.",
            "O farol mostra aos navios o caminho seguro durante a noite.",
            "Antigamente, o faroleiro subia a escada todas as noites para acender a luz.",
            "O faroleiro limpava a lente e vigiava os navios.",
            "Com nevoeiro, o farol também tocava uma sirene forte.",
            "Hoje quase todos os faróis funcionam sozinhos.",
            "Mesmo assim, o farol continua a ser um símbolo de segurança.",
        ],
        "jardim": [
            "Esta tarde quero falar do jardim e das flores.",
            "Um jardim precisa de sol, de água e de boa terra.",
            "Na primavera, plantamos flores e árvores no jardim.",
            "As flores do jardim atraem abelhas e borboletas.",
            "É melhor regar o jardim de manhã cedo.",
            "No outono, as folhas das árvores cobrem o jardim.",
            "Cuidar de um jardim ensina paciência.",
            "Um jardim cheio de flores alegra toda a casa.",
        ],
        "padaria": [
            "Vamos falar do pão e da padaria.",
            "O padeiro começa a trabalhar muito cedo, antes de o sol nascer.",
            "Para fazer pão, precisamos de farinha, água, sal e fermento.",
            "O padeiro amassa a massa durante muito tempo.",
            "Depois, a massa descansa num lugar quente.",
            "O forno da padaria tem de estar muito quente.",
            "Um bom pão tem uma côdea dourada e estaladiça.",
            "De manhã, os vizinhos compram pão fresco na padaria.",
        ],
        "comboio": [
            "Esta noite falamos de viajar de comboio.",
            "O comboio é uma forma calma e segura de viajar.",
            "Da janela do comboio vemos campos, rios e aldeias.",
            "Na estação, os passageiros esperam o comboio na plataforma.",
            "Antes de viajar, é preciso comprar o bilhete.",
            "Dentro do comboio podemos ler, dormir ou conversar.",
            "O comboio gasta menos energia do que o carro.",
            "Viajar de comboio é uma boa maneira de conhecer o país.",
        ],
    },
    "nl": {
        "fiets": [
            "Vandaag praten we over de fiets in de stad.",
            "In ons land heeft bijna iedereen een fiets.",
            "Met de fiets ga je snel en goedkoop naar je werk.",
            "Een goed fietspad maakt fietsen veilig voor kinderen.",
            "Controleer altijd de remmen en de lampen van je fiets.",
            "In de winter is fietsen in de regen niet altijd leuk.",
            "Zet je fiets op slot als je boodschappen doet.",
            "De fiets is gezond voor jou en goed voor de stad.",
        ],
        "molens": [
            "Vanavond vertel ik over de oude molens.",
            "Een molen gebruikt de kracht van de wind.",
            "Vroeger maalden de molens graan tot meel.",
            "Andere molens pompten het water uit de polders.",
            "De molenaar woonde vaak in zijn eigen molen.",
            "Bij harde wind draaiden de wieken van de molen heel snel.",
            "Vandaag zijn veel molens een museum.",
            "De molens zijn een mooi teken van ons land.",
        ],
        "kaas": [
            "Vandaag gaat het over kaas en de boerderij.",
            "Kaas wordt gemaakt van verse melk.",
            "De boer melkt de koeien elke ochtend en elke avond.",
            "In de kaasmakerij wordt de melk langzaam dik.",
            "Daarna komt de kaas in ronde vormen.",
            "Jonge kaas is zacht, oude kaas is hard en zout.",
            "De kaas rijpt lang in een koele ruimte.",
            "Op de markt proeven de mensen de kaas van de boerderij.",
        ],
        "tulpen": [
            "Deze lezing gaat over tulpen en bloemen.",
            "In de lente bloeien de tulpen in vele kleuren.",
            "De tulpen groeien uit bollen in zachte grond.",
            "In de herfst planten we de bollen in de tuin.",
            "Tulpen hebben water en zon nodig.",
            "Veel mensen komen kijken naar de velden vol tulpen.",
            "Op de markt koop je tulpen voor weinig geld.",
            "Een bos tulpen maakt elk huis vrolijk.",
        ],
    },
}

# The espeak-ng voice that speaks each language of TALKS_IN (`espeak-ng --voices`): "fr" is
# French of France; Portuguese is Brazil's voice, which the base model understands far
# better than espeak-ng's Portugal one (WER 32–79 % against 52–104 % on these talks).
ESPEAK_VOICES: dict[str, str] = {
    "en": "en-us", "fr": "fr", "de": "de", "es": "es", "it": "it", "pt": "pt-br", "nl": "nl",
}

# ffmpeg muxer and codec options per file suffix.  The muxer is named explicitly
# so ffmpeg never guesses a format from an odd file name.
_FORMATS: dict[str, tuple[str, list[str]]] = {
    ".wav": ("wav", ["-c:a", "pcm_s16le"]),
    ".mp3": ("mp3", ["-c:a", "libmp3lame", "-b:a", "40k"]),
    ".m4a": ("ipod", ["-c:a", "aac", "-b:a", "48k"]),
    ".mp4": ("mp4", ["-c:a", "aac", "-b:a", "48k"]),
    ".flac": ("flac", ["-c:a", "flac", "-sample_fmt", "s16"]),
    ".ogg": ("ogg", ["-c:a", "libvorbis", "-q:a", "3"]),
    ".opus": ("opus", ["-c:a", "libopus", "-b:a", "32k"]),
}


def _need(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise RuntimeError(f"{tool} is not installed; the spoken test material needs it")
    return found


def _run(cmd: list[str], *, stdin: str | None = None) -> None:
    # Errors carry the tool's own message, which is the only useful clue when a
    # synthesizer or ffmpeg refuses something.
    done = subprocess.run(cmd, input=stdin, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")


# Sentences are synthesized once per process and reused: tests make many short
# talks from the same sentences, and long benchmark talks repeat them by design.
_cache_dir: Path | None = None


def _cache() -> Path:
    global _cache_dir
    if _cache_dir is None:
        _cache_dir = Path(tempfile.mkdtemp(prefix="talks-speech-"))
        atexit.register(shutil.rmtree, _cache_dir, ignore_errors=True)
    return _cache_dir


def _synthesize(sentence: str, *, voice: str, speed: int, tool: str) -> Path:
    """One sentence as a 16 kHz mono 16-bit wav, cached by everything that shapes it."""
    key = hashlib.sha1(f"{tool}\0{voice}\0{speed}\0{sentence}".encode()).hexdigest()[:20]
    out = _cache() / f"{key}.wav"
    if out.exists():
        return out
    # Scratch names are unique so two threads making the same sentence never collide.
    scratch = f"{key}.{uuid.uuid4().hex[:8]}"
    raw = out.with_name(f"{scratch}.raw.wav")
    if tool == "espeak-ng":
        # Text goes in on stdin so a sentence can never be read as an option.
        _run([_need("espeak-ng"), "-v", voice, "-s", str(speed), "-w", str(raw), "--stdin"],
             stdin=sentence)
    elif tool == "flite":
        if voice not in FLITE_VOICES:
            raise ValueError(f"flite voice must be one of {FLITE_VOICES}, not {voice!r}")
        text_file = out.with_name(f"{scratch}.txt")
        text_file.write_text(sentence, encoding="utf-8")
        stretch = _ESPEAK_DEFAULT_SPEED / speed
        _run([_need("flite"), "-voice", voice, "--setf", f"duration_stretch={stretch:.3f}",
              "-f", str(text_file), "-o", str(raw)])
        text_file.unlink()
    else:
        raise ValueError(f"unknown speech tool {tool!r} (use 'espeak-ng' or 'flite')")
    # espeak-ng speaks at 22.05 kHz and flite's kal at 8 kHz: bring all to one format.
    # -D: no dither, whose random noise made every run's speech (and so its WER) differ.
    tmp = out.with_name(f"{scratch}.tmp.wav")
    _run([_need("sox"), "-D", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16",
          str(tmp)])
    raw.unlink()
    tmp.replace(out)  # a finished file or none, so the cache never holds half a sentence
    return out


def _silence_wav(seconds: float) -> Path:
    """Digital silence (all-zero samples) of the given length, cached by length."""
    frames = round(seconds * SAMPLE_RATE)
    out = _cache() / f"silence-{frames}.wav"
    if not out.exists():
        tmp = out.with_name(f"silence-{frames}.{uuid.uuid4().hex[:8]}.tmp.wav")
        with wave.open(str(tmp), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            block = bytes(2 * SAMPLE_RATE)  # one second at a time, never the whole length
            left = frames
            while left > 0:
                n = min(left, SAMPLE_RATE)
                w.writeframes(block[: 2 * n])
                left -= n
        tmp.replace(out)
    return out


def _wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return w.getnframes() / w.getframerate()


def _output_args(path: Path, year: int | None, video: bool = False) -> list[str]:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(f"no encoder set up for {path.suffix!r}; use one of {sorted(_FORMATS)}")
    muxer, codec = fmt
    args = ["-map", "0:a", "-ar", str(SAMPLE_RATE), "-ac", "1", *codec,
            # Drop whatever the inputs carried so the only date is the one asked for.
            "-map_metadata", "-1"]
    if video:
        if muxer != "mp4":
            raise ValueError("a video track is only made for .mp4 files")
        # A tiny black picture at four frames a second: a real video stream that
        # costs a few kilobytes.
        args += ["-map", "1:v", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "stillimage",
                 "-pix_fmt", "yuv420p"]
    if year is not None:
        args += ["-metadata", f"date={year}"]
    # "file:" keeps a name with a colon from being read as a protocol.
    return [*args, "-f", muxer, "file:" + str(path.resolve())]


def _encode_concat(pieces: list[Path], path: Path, year: int | None, video: bool = False) -> None:
    """Join wav pieces into `path` with ffmpeg's concat demuxer, which streams them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", suffix=".ffconcat", encoding="utf-8",
                                     dir=_cache(), delete=False) as listing:
        listing.write("ffconcat version 1.0\n")
        for piece in pieces:
            quoted = str(piece).replace("'", "'\\''")
            listing.write(f"file '{quoted}'\n")
    black: list[str] = []
    if video:
        # The picture is given the sound's exact length; ffmpeg's -shortest
        # overshoots by seconds when the video stream is this sparse.
        seconds = sum(_wav_seconds(piece) for piece in pieces)
        black = ["-f", "lavfi", "-i", f"color=c=black:s=64x64:r=4:d={seconds:.3f}"]
    try:
        _run([_need("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
              "-f", "concat", "-safe", "0", "-i", listing.name, *black,
              *_output_args(path, year, video)])
    finally:
        Path(listing.name).unlink(missing_ok=True)


def _interleave(sentences: list[Path], pause: Path) -> list[Path]:
    pieces: list[Path] = []
    for i, sentence in enumerate(sentences):
        if i:
            pieces.append(pause)
        pieces.append(sentence)
    return pieces


def make_talk(
    path: Path,
    sentences: list[str],
    *,
    voice: str = "en-us",
    pause_s: float = 1.2,
    speed: int = 160,
    year: int | None = None,
    tool: str = "espeak-ng",
    video: bool = False,
) -> str:
    """Speak `sentences` into `path` (format from its suffix); return the spoken text.

    Sentences are separated by `pause_s` of digital silence so that silence-based
    chunking has clean places to cut.  `year` becomes the file's `date` tag.
    `video=True` (only for .mp4) adds a tiny black picture track.
    """
    if not sentences:
        raise ValueError("a talk needs at least one sentence")
    path = Path(path)
    spoken = [_synthesize(s, voice=voice, speed=speed, tool=tool) for s in sentences]
    _encode_concat(_interleave(spoken, _silence_wav(pause_s)), path, year, video)
    return " ".join(sentences)


def sentence_times(sentences: list[str], *, voice: str = "en-us", pause_s: float = 1.2,
                   speed: int = 160, tool: str = "espeak-ng") -> list[tuple[float, float]]:
    """(start, end) in seconds of each sentence in the talk `make_talk` makes of them (the
    synthesized pieces are cached: the same audio, measured)."""
    times, at = [], 0.0
    for i, sentence in enumerate(sentences):
        if i:
            at += round(pause_s * SAMPLE_RATE) / SAMPLE_RATE
        with wave.open(str(_synthesize(sentence, voice=voice, speed=speed, tool=tool))) as w:
            length = w.getnframes() / w.getframerate()
        times.append((at, at + length))
        at += length
    return times


def make_long_talk(
    path: Path,
    seconds_target: float,
    *,
    topics: list[str] | None = None,
    seed: int = 0,
    voice: str = "en-us",
    pause_s: float = 1.2,
    speed: int = 160,
    year: int | None = None,
    tool: str = "espeak-ng",
) -> str:
    """A talk at least `seconds_target` long, cycling sentences from several TALKS.

    Each distinct sentence is synthesized once; every round through the pool is
    shuffled afresh (seeded, so runs repeat) so the audio is not one phrase looped.
    The long file is joined by ffmpeg straight from the cached pieces, so Python
    only ever holds the list of pieces, never the audio.
    """
    if seconds_target <= 0:
        raise ValueError("seconds_target must be positive")
    path = Path(path)
    pool = [s for topic in (topics or list(TALKS)) for s in TALKS[topic]]
    wavs = {s: _synthesize(s, voice=voice, speed=speed, tool=tool) for s in pool}
    lengths = {s: _wav_seconds(w) for s, w in wavs.items()}
    pause = _silence_wav(pause_s)
    rng = random.Random(seed)

    chosen: list[str] = []
    total = 0.0
    while total < seconds_target:
        order = pool[:]
        rng.shuffle(order)
        if chosen and len(order) > 1 and order[0] == chosen[-1]:
            # Never the same sentence twice in a row where two rounds meet.
            order.append(order.pop(0))
        for sentence in order:
            if chosen:
                total += pause_s
            chosen.append(sentence)
            total += lengths[sentence]
            if total >= seconds_target:
                break

    _encode_concat(_interleave([wavs[s] for s in chosen], pause), path, year)
    return " ".join(chosen)


def make_silence(path: Path, seconds: float, *, year: int | None = None) -> None:
    """Pure digital silence of `seconds`, in the format of `path`'s suffix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _run([_need("ffmpeg"), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
          "-f", "lavfi", "-i", f"anullsrc=r={SAMPLE_RATE}:cl=mono", "-t", f"{seconds:.3f}",
          *_output_args(path, year)])


def make_not_audio(path: Path) -> None:
    """A file whose name says audio but whose bytes are plain text."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"These are notes about a talk, written as text, not recorded sound.\n" * 8)


def probe(path: Path) -> dict | None:
    """ffprobe's JSON for `path` (format and streams), or None when ffprobe rejects it."""
    done = subprocess.run(
        [_need("ffprobe"), "-v", "error", "-print_format", "json", "-show_format",
         "-show_streams", "file:" + str(Path(path).resolve())],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        return None
    return json.loads(done.stdout)


def audio_md5(path: Path) -> str:
    """The digest of a recording's decoded audio: the same for a copy whose tags changed."""
    done = subprocess.run(
        [_need("ffmpeg"), "-nostdin", "-v", "error", "-i", "file:" + str(Path(path).resolve()),
         "-map", "0:a", "-f", "md5", "-"], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def normalize_words(text: str) -> str:
    """Lowercase words without punctuation, single-spaced: the form WER is scored on."""
    text = unicodedata.normalize("NFKC", text).lower()
    # Apostrophes vanish ("don't" -> "dont") so contractions stay one word;
    # every other punctuation or symbol mark separates words.
    text = text.replace("'", "").replace("\u2019", "")
    kept = "".join(" " if unicodedata.category(c)[0] in "PS" else c for c in text)
    return " ".join(kept.split())
