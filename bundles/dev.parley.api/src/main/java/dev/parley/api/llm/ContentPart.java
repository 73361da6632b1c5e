package dev.parley.api.llm;

import java.util.Objects;

/**
 * One part of a message's content: text, or an image given inline (base64) or by URL. A message whose content is
 * text only needs no parts (see {@link dev.parley.api.chat.ChatMessage#parts()}).
 *
 * @param kind      what this part is
 * @param text      the text ({@link Kind#TEXT}), else null
 * @param mediaType the image's media type, e.g. {@code image/png}; required for inline data, may be null for a URL
 * @param data      the image bytes, base64-encoded ({@link Kind#IMAGE} given inline), else null
 * @param url       the image's {@code http(s)} URL ({@link Kind#IMAGE} given by URL), else null
 * @since 1.2
 */
public record ContentPart(Kind kind, String text, String mediaType, String data, String url) {
    /** The kinds of content part. */
    public enum Kind {
        TEXT, IMAGE
    }

    public ContentPart {
        Objects.requireNonNull(kind, "kind");
        if (kind == Kind.TEXT) {
            Objects.requireNonNull(text, "text");
            if (mediaType != null || data != null || url != null) {
                throw new IllegalArgumentException("a text part has only text");
            }
        } else {
            if (text != null) {
                throw new IllegalArgumentException("an image part has no text");
            }
            if ((data == null) == (url == null)) {
                throw new IllegalArgumentException("an image part has either base64 data or a URL");
            }
            if (data != null && mediaType == null) {
                throw new IllegalArgumentException("an inline image needs its media type");
            }
        }
    }

    public static ContentPart text(String text) {
        return new ContentPart(Kind.TEXT, text, null, null, null);
    }

    /** An image given inline; {@code base64} is the encoded bytes without a {@code data:} prefix. */
    public static ContentPart imageBase64(String mediaType, String base64) {
        return new ContentPart(Kind.IMAGE, null, mediaType, base64, null);
    }

    /** An image the provider (or its model server) fetches; {@code mediaType} may be null. */
    public static ContentPart imageUrl(String url, String mediaType) {
        return new ContentPart(Kind.IMAGE, null, mediaType, null, url);
    }

    public boolean isText() {
        return kind == Kind.TEXT;
    }
}
