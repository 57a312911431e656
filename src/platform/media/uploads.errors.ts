import { defineErrors } from '../errors.js';

export const uploadErrors = {
  unsupported_media_type: {
    status: 415,
    title: 'The file is not a JPEG, PNG or WebP image',
  },
  image_too_large: {
    status: 422,
    title: 'The image is larger than 4096×4096 pixels or 25 megapixels',
  },
  invalid_image: { status: 422, title: 'The image cannot be decoded' },
} as const;

export const uploadError = defineErrors(uploadErrors);
