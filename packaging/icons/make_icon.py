"""Draw MedStation's application icon (icons/medstation.png, .ico): a monitor with a cross-sectional slice.

Run once with ``python packaging/icons/make_icon.py``; the outputs are committed.
"""

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent


def draw(size: int = 256) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    d = ImageDraw.Draw(image)
    s = size / 256
    d.rounded_rectangle((16 * s, 24 * s, 240 * s, 200 * s), radius=20 * s, fill=(32, 44, 64, 255))
    d.rounded_rectangle((30 * s, 38 * s, 226 * s, 186 * s), radius=10 * s, fill=(8, 10, 14, 255))
    d.ellipse((72 * s, 50 * s, 184 * s, 174 * s), fill=(150, 150, 150, 255))
    d.ellipse((84 * s, 62 * s, 172 * s, 162 * s), fill=(70, 70, 70, 255))
    d.ellipse((100 * s, 84 * s, 124 * s, 130 * s), fill=(20, 20, 20, 255))
    d.ellipse((132 * s, 84 * s, 156 * s, 130 * s), fill=(20, 20, 20, 255))
    d.line((128 * s, 40 * s, 128 * s, 184 * s), fill=(240, 200, 40, 255), width=max(1, int(3 * s)))
    d.line((32 * s, 112 * s, 224 * s, 112 * s), fill=(240, 200, 40, 255), width=max(1, int(3 * s)))
    d.rectangle((112 * s, 200 * s, 144 * s, 222 * s), fill=(32, 44, 64, 255))
    d.rounded_rectangle((72 * s, 220 * s, 184 * s, 236 * s), radius=6 * s, fill=(32, 44, 64, 255))
    return image


if __name__ == "__main__":
    icon = draw()
    icon.save(HERE / "medstation.png")
    icon.save(HERE / "medstation.ico", sizes=[(16, 16), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    print(f"wrote {HERE / 'medstation.png'} and {HERE / 'medstation.ico'}")
