# Included by the C Makefiles (examples/c, dtl-capi/tests/c): builds libdtl
# with cargo and puts the SONAME link next to cargo's libdtl.so.
#
# libdtl.so is linked with a SONAME (libdtl.so.<major>, see dtl-capi/build.rs),
# so a program linked with -ldtl asks for libdtl.so.<major> at run time; cargo
# only writes libdtl.so, hence the link. The includer sets ROOT, CARGO, LIBDIR.

.PHONY: lib

# Always asks cargo (a no-op when libdtl is up to date): libdtl.so, and so
# whatever links it, changes only when cargo rebuilt it.
lib:
	cd $(ROOT) && $(CARGO) build --release -p dtl-capi
	@soname=$$(readelf -d $(LIBDIR)/libdtl.so | sed -n 's/.*(SONAME).*\[\(.*\)\].*/\1/p'); \
	if [ -n "$$soname" ] && [ "$$soname" != libdtl.so ]; then ln -sfn libdtl.so $(LIBDIR)/$$soname; fi

$(LIBDIR)/libdtl.so: lib ;
