from .sf_encoder_decoder import SFEncoderDecoder

__all__ = ['SFEncoderDecoder']
