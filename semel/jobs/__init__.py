"""Jobs: a kernel run over a whole collection, reading and writing through `semel.io`."""
