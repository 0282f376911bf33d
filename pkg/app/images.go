package app

import (
	"bytes"
	"image"
	_ "image/gif" // formats whose headers are checked
	_ "image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/draw"
	_ "golang.org/x/image/webp"

	"github.com/minimost/minimost/pkg/chat"
)

// Image limits. A browser decodes every inline image whole (4 bytes a pixel), so an
// attachment over MaxImagePixels is offered as a download only; an avatar, decoded here to be
// re-encoded, must be smaller still.
const (
	MaxImagePixels  = 40_000_000
	MaxAvatarPixels = 16_000_000
	// AvatarSide is the largest width and height of a stored avatar.
	AvatarSide = 256
)

// imageSize decodes only the header of a PNG, JPEG, GIF or WebP image.
func imageSize(r io.Reader) (w, h int, err error) {
	cfg, _, err := image.DecodeConfig(r)
	if err != nil {
		return 0, 0, err
	}
	return cfg.Width, cfg.Height, nil
}

// inlineImage reports whether an attachment of sniffed type ctype, read from r, may be shown
// inline: a raster image whose header decodes and whose size is within MaxImagePixels.
func inlineImage(ctype string, r io.Reader) bool {
	if _, ok := RasterTypes[ctype]; !ok {
		return false
	}
	w, h, err := imageSize(r)
	return err == nil && w > 0 && h > 0 && int64(w)*int64(h) <= MaxImagePixels
}

// avatarPNG checks an uploaded avatar and re-encodes it as a PNG of at most AvatarSide
// pixels a side, so that what every client downloads and decodes is small, and whatever the
// upload carried besides the picture (metadata, trailing bytes) is gone.
func avatarPNG(data []byte) ([]byte, error) {
	bad := chat.Errorf(chat.EInvalid, "an avatar must be a PNG, JPEG, GIF or WebP image of at most %d megapixels", MaxAvatarPixels/1_000_000)
	w, h, err := imageSize(bytes.NewReader(data))
	if err != nil || w < 1 || h < 1 || int64(w)*int64(h) > MaxAvatarPixels {
		return nil, bad
	}
	src, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, bad
	}
	dw, dh := w, h
	if dw > AvatarSide || dh > AvatarSide {
		if dw >= dh {
			dw, dh = AvatarSide, max(1, h*AvatarSide/w)
		} else {
			dw, dh = max(1, w*AvatarSide/h), AvatarSide
		}
	}
	dst := image.NewNRGBA(image.Rect(0, 0, dw, dh))
	draw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	var out bytes.Buffer
	if err := png.Encode(&out, dst); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
