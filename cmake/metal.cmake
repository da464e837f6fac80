# cmake/metal.cmake — filled in with the freestanding image build.
