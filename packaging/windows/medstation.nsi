; MedStation installer for Windows (NSIS 3). Built by .github/workflows/desktop-windows.yml after
; `python packaging/build.py --no-deb` has frozen dist\medstation on a Windows runner:
;   makensis /DVERSION=0.1.0 /DONEDIR=..\..\dist\medstation /DOUTFILE=..\..\dist\medstation-0.1.0-setup.exe medstation.nsi
; Installs per machine under Program Files, adds a Start-menu shortcut, opens .dcm/.nii/.nii.gz/.nrrd/.mha files
; with MedStation, registers an uninstaller in Apps & features.

Unicode true
!ifdef FAST
  SetCompress off  ; /DFAST: a quick compile check, no compression
!else
  SetCompressor /SOLID lzma
!endif

!ifndef VERSION
  !define VERSION "0.0.0"
!endif
!ifndef ONEDIR
  !define ONEDIR "..\..\dist\medstation"
!endif
!ifndef OUTFILE
  !define OUTFILE "..\..\dist\medstation-${VERSION}-setup.exe"
!endif
!ifndef EXE
  !define EXE "medstation.exe"
!endif
!define APPNAME "MedStation"
!define PROGID "MedStation.Study"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\MedStation"

Name "${APPNAME} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\MedStation"
InstallDirRegKey HKLM "Software\MedStation" "InstallDir"
RequestExecutionLevel admin
Icon "..\icons\medstation.ico"
UninstallIcon "..\icons\medstation.ico"

!include "MUI2.nsh"
!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

!macro Associate EXT
  WriteRegStr HKLM "Software\Classes\${EXT}\OpenWithProgids" "${PROGID}" ""
!macroend
!macro Unassociate EXT
  DeleteRegValue HKLM "Software\Classes\${EXT}\OpenWithProgids" "${PROGID}"
!macroend

Section "MedStation" SecMain
  SectionIn RO
  SetOutPath "$INSTDIR"
  File /r "${ONEDIR}\*.*"
  File "..\icons\medstation.ico"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  CreateDirectory "$SMPROGRAMS\MedStation"
  CreateShortcut "$SMPROGRAMS\MedStation\MedStation.lnk" "$INSTDIR\${EXE}" "" "$INSTDIR\medstation.ico"
  CreateShortcut "$SMPROGRAMS\MedStation\Uninstall MedStation.lnk" "$INSTDIR\uninstall.exe"

  ; File association: DICOM and NIfTI/NRRD/MetaImage files offer "Open with MedStation".
  WriteRegStr HKLM "Software\Classes\${PROGID}" "" "Medical image (MedStation)"
  WriteRegStr HKLM "Software\Classes\${PROGID}\DefaultIcon" "" "$INSTDIR\medstation.ico"
  WriteRegStr HKLM "Software\Classes\${PROGID}\shell\open\command" "" '"$INSTDIR\${EXE}" "%1"'
  !insertmacro Associate ".dcm"
  !insertmacro Associate ".nii"
  !insertmacro Associate ".gz"
  !insertmacro Associate ".nrrd"
  !insertmacro Associate ".mha"
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'

  WriteRegStr HKLM "Software\MedStation" "InstallDir" "$INSTDIR"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayName" "${APPNAME}"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINSTKEY}" "Publisher" "MedStation"
  WriteRegStr HKLM "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\medstation.ico"
  WriteRegStr HKLM "${UNINSTKEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINSTKEY}" "NoRepair" 1
SectionEnd

Section "Uninstall"
  !insertmacro Unassociate ".dcm"
  !insertmacro Unassociate ".nii"
  !insertmacro Unassociate ".gz"
  !insertmacro Unassociate ".nrrd"
  !insertmacro Unassociate ".mha"
  DeleteRegKey HKLM "Software\Classes\${PROGID}"
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'
  Delete "$SMPROGRAMS\MedStation\MedStation.lnk"
  Delete "$SMPROGRAMS\MedStation\Uninstall MedStation.lnk"
  RMDir "$SMPROGRAMS\MedStation"
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\${EXE}"
  Delete "$INSTDIR\medstation.ico"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKLM "${UNINSTKEY}"
  DeleteRegKey HKLM "Software\MedStation"
SectionEnd
